"""Layer 5: what learners and admins do besides chatting: roadmaps, quizzes and flashcards, feedback,
the admin tables. Imports bot.answering and below."""
