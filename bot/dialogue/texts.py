"""Every sentence the bot says, in one place, so tone can be reviewed and changed."""

from __future__ import annotations

from bot.messages import Button

YES_NO = (Button("Yes", "yes"), Button("No", "no"))
SOLVED_QUESTION = "Did this solve your issue?"
CSAT_BUTTONS = (*(Button(str(n), f"csat:{n}") for n in range(1, 6)), Button("Skip", "skip"))
CSAT_QUESTION = "How would you rate the help you received today, from 1 (poor) to 5 (excellent)?"
CSAT_REASK = "Please choose a rating from 1 to 5, or Skip."
COMMENT_QUESTION = "Thank you! Would you like to add a comment about your experience?"
COMMENT_BUTTONS = (Button("No, thanks", "skip"),)
ASK_EMAIL = (
    "Before I can help with {topic}, I need to verify your identity. "
    "What is the email address on your account?"
)
BAD_EMAIL = "That doesn't look like an email address. Please type it as name@example.com."
ASK_ORDER = "Thank you. And what is the order number from your confirmation email?"
ASK_EMAIL_TOO = (
    "Thank you, I have your order number. And what is the email address on your account?"
)
BAD_ORDER = "That doesn't look like an order number. You'll find it in your confirmation email."
VERIFY_FAILED = (
    "I couldn't match that email address and order number. "
    "Let's try again: what is the email address on your account?"
)
VERIFIED = "Thank you{name}, your identity is verified."
CLARIFY = "I found a few articles that might fit. Which one is closest to your question?"
NONE_OF_THESE = Button("None of these", "no")
NO_ANSWER = (
    "I'm sorry, I don't have a confident answer to that. "
    "Would you like me to connect you with a member of our support team?"
)
OFFER_HUMAN_BUTTONS = (Button("Yes, connect me", "yes"), Button("No, I'll rephrase", "no"))
SEND_AGAIN = (  # a channel could not process the message (a bug): never silent
    "Sorry, I couldn't read your last message because of a problem on our side. "
    "Please send it again."
)
WHAT_QUESTION = "How can I help? Please describe your question in a sentence or two."
REPHRASE = "Of course. Could you describe your question in a little more detail?"
TELL_MORE = (
    "I'm sorry that didn't help. Could you tell me a bit more, for example "
    "what you tried and what happened?"
)
NEXT_ARTICLE = "I'm sorry that didn't help. Here is another article that may:"
COMPLAINT = (
    "I'm very sorry for the trouble{name}. I understand how frustrating this is, "
    "and I want to put it right. Here is what I can offer:"
)
COMPLAINT_CHOICES = {
    "refund": "A refund",
    "exchange": "An exchange",
    "technical_support": "Technical support",
}
DESCRIBE_PROBLEM = "Let's fix it. Please describe the problem: what happens, and when?"
REFUND_POLICY = (
    "Refunds are possible within 30 days of purchase with a valid receipt. "
    "A refund must be approved by our team, so I'm passing this to them."
)
ESCALATED = (
    "I've opened case #{number} for you and passed it to our support team "
    "({reason}). A member of the team will reply here, usually within {response}. "
    "Anything you send meanwhile is added to your case."
)
ESCALATED_CLOSED = (
    "I've opened case #{number} for you and passed it to our support team ({reason}). "
    "Nobody from the team is available right now; a person will answer here from {when}. "
    "You can leave any details here meanwhile: they are added to your case."
)
QUEUE = "Cases ahead of yours in the queue: {ahead}."
TYPICAL_WAIT = "Cases like yours are usually picked up within about {wait}."
REASONS = {
    "legal": "this is a legal or regulatory matter",
    "requested": "you asked for a person",
    "failed_resolution": "I couldn't solve it myself",
    "no_answer": "I don't have a confident answer",
    "verification_failed": "I couldn't verify your details",
    "beyond_authority": "this needs a decision from our team",
    "complaint": "your complaint deserves a personal look",
    "privacy_request": "this is a request about your personal data",
}
AGENT_JOINED = "{agent} from our support team has joined the conversation."
RESOLVED_BY_AGENT = "{agent} has marked your case #{number} as resolved{summary}."
BOT_RESOLVED = "I'm glad that helped! To sum up: {title}."
THANKS = "Thank you for contacting {company}{name}."
FEEDBACK_THANKS = "Thank you for your feedback{name}. Have a great day!"
IDLE_CLOSED = (
    "It looks like you've stepped away, so I'm closing this chat for now. "
    "Just write again whenever you need help. Thank you for contacting {company}."
)
FOLLOWUP = (
    "Hello{name}, this is {bot} from {company}, following up on {what}. "
    "Is everything still working?"
)
FOLLOWUP_BUTTONS = (Button("Yes, all good", "yes"), Button("No, I still need help", "no"))
FOLLOWUP_GOOD = "Great to hear! Thank you for being a {company} customer."
FOLLOWUP_BAD = "I'm sorry to hear that. Please tell me what is still wrong and I'll help."
REOPENED = (
    "I'm sorry to hear that. I've reopened case #{number} and told {who}; "
    "they will get back to you here. Anything you add now goes to your case."
)
NPS_QUESTION = (
    "One last question: how likely are you to recommend {company} to a friend or colleague, "
    "from 0 (not at all) to 10 (extremely likely)?"
)
NPS_BUTTONS = tuple(Button(str(n), f"nps:{n}") for n in range(11))
NPS_REASK = "Please choose a number from 0 to 10, or Skip."
PRIVACY_VERIFY = (
    "I can pass a request about your personal data to our data-protection team. "
    "First I need to verify your identity, so that nobody else can get or delete your data. "
    "What is the email address on your account?"
)
PRIVACY_WHAT = {
    "access": "send you a copy of the data we hold about you",
    "erasure": "delete your personal data",
    "request": "handle your request about your personal data",
}
PRIVACY_SUMMARY = {
    "access": "Data-protection request: a copy of my data",
    "erasure": "Data-protection request: delete my data",
    "request": "Data-protection request",
}
PRIVACY_NEXT = (
    "What happens next: our data-protection team will {what}. They may contact you here "
    "to confirm the request; nothing is deleted on a chat message alone. By law we answer "
    "within {period}, so at the latest by {due}."
)
TOO_MANY_CASES = (
    "You've already opened {count} requests with our team in the last hour, so I can't open "
    "another one right now. The team will answer those; you can add details to them here."
)
LOW_CSAT = "Low CSAT {score}/5 from {customer}{case}: {comment}. Transcript: {link}"


def with_name(name: str | None) -> str:
    return f", {name}" if name else ""


def duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"
