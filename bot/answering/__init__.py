"""Layer 4: turning passages into an answer: the prompt and answer texts, the prompt-injection guard,
the grounding check and suggested follow-ups. Imports bot.retrieval and below."""
