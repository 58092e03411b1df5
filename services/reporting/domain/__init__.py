"""Pure reporting logic: entity status (R1-R6, R9), rates (R7), reports (R11), bulletins."""
