"""The embedded MongoDB-wire server: started as a child process when MONGODB_URI is
unset (``server``), tied to Plaudit's lifetime (``parent_death``), found and stopped
when a killed Plaudit left it behind (``process_table``)."""
