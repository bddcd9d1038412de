-- installation_id: this installation's id (migration 00013), read once when a run starts.
SELECT id::text FROM installation
