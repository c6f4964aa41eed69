"""``python -m bot.bench.fake telegram|slack``: see ``process``."""

from bot.bench.fake.process import main

main()
