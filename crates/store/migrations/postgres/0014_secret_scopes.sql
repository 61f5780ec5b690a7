-- Where each secret may be sent: the hosts (host or host:port) of http steps, whether plain
-- http is allowed (https only unless said), and which workflows may use it (NULL: any).
ALTER TABLE secrets ADD COLUMN hosts TEXT NOT NULL DEFAULT '';
ALTER TABLE secrets ADD COLUMN allow_http BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE secrets ADD COLUMN workflows TEXT;
