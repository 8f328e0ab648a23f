"""What goes into a prompt besides the FIM tokens, within a hard token budget."""
