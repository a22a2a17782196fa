"""Operations of this app, one module per area: users, purchase, lifecycle, payments."""
