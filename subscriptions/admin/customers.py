"""Customer accounts: the customer page with subscriptions, payment methods and activity."""
