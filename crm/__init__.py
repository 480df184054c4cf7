"""The application shell: the ``crm`` command and the process stack it runs."""
