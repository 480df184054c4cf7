"""Reporting: event-fed read models answering the funnel, dashboards and sales analytics."""
