"""The completion pipeline: cursor -> window -> template -> backend -> postprocess."""
