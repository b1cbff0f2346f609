-- The device bound to a bed: its serial as its status names it (EUI-64 or
-- the feed's device id); '' = any device on the bed's feed. Data from another
-- device on that feed are not used (monitor/binding.go).
ALTER TABLE beds ADD COLUMN device TEXT NOT NULL DEFAULT '';
