"""Getting sources into the index: discover -> load -> split -> index."""
