"""Social effect: ties between members, new contacts, and the coordinator's dashboard."""
