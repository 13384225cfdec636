"""Layer 1: the models studybot talks to: embedders, chat LLMs, the local GGUF model. Imports bot.core."""
