"""Operations of the billing app: one function per use case (see the modules)."""
