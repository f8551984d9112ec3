-- Purge deletes the events older than Config.EventRetention by time.
CREATE INDEX sso_events_time ON sso_events (time_us);
