"""Reads for reports. Every figure is one SQL query that aggregates in the database
(GROUP BY, window functions), whatever the number of invoices, subscriptions or users;
Python only shapes the few aggregated rows (months, buckets, top accounts)."""
