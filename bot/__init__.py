"""studybot: answers study questions from a curated library, with citations."""
