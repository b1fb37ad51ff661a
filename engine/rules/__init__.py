"""Pure rule functions: (fact, member state, program) -> decisions. No I/O, no clock."""
