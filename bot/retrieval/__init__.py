"""Layer 3: finding passages for a question: hybrid retrieval, fusion, re-scoring, re-ranking,
translation and the glossary. Imports bot.index, bot.providers, bot.core."""
