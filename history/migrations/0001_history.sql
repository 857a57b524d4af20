-- Up Migration
-- History and audit schema (issue 5). Applied by node-pg-migrate on start (history/db.ts).

-- Every accepted reading, as the bridge published it. Partitioned by day on device time;
-- partitions are created ahead and dropped after VITALS_RETENTION_DAYS by the sink
-- (history/partitions.ts). The primary key makes the sink idempotent: a redelivered Kafka
-- record (or a reading the bridge published twice) never creates a second row, and it is
-- also the index for "one patient's vitals over a time range".
CREATE TABLE vitals (
  patient_id     text             NOT NULL,
  ts             timestamptz      NOT NULL,
  device_id      text             NOT NULL,
  seq            bigint           NOT NULL,
  ward_id        text             NOT NULL,
  bed            text,
  received_at    timestamptz      NOT NULL,
  heart_rate     double precision,
  spo2           double precision,
  resp_rate      double precision,
  systolic_bp    double precision,
  diastolic_bp   double precision,
  temperature    double precision,
  consciousness  char(1),
  on_oxygen      boolean,
  correlation_id text             NOT NULL,
  PRIMARY KEY (patient_id, ts, device_id, seq)
) PARTITION BY RANGE (ts);

-- Alert lifecycle events as the processors emitted them (clinical record, real patient ids).
CREATE TABLE alert_events (
  event_id       text PRIMARY KEY,
  alert_id       text             NOT NULL,
  patient_id     text             NOT NULL,
  ward_id        text             NOT NULL,
  bed            text,
  rule           text             NOT NULL,
  priority       text             NOT NULL,
  phase          text             NOT NULL,
  state          text             NOT NULL,
  parameter      text,
  value          double precision,
  threshold      double precision,
  onset_ts       timestamptz      NOT NULL,
  event_ts       timestamptz      NOT NULL,
  message        text             NOT NULL,
  rule_version   text             NOT NULL,
  correlation_id text             NOT NULL,
  details        jsonb,
  notify         text[]           NOT NULL,
  actor          text,
  actor_role     text,
  grouped_with   text,
  silenced_until timestamptz
);
CREATE INDEX alert_events_ward_ts ON alert_events (ward_id, event_ts);
CREATE INDEX alert_events_patient_ts ON alert_events (patient_id, event_ts);

-- Clinician actions (acknowledge, silence) as the gateway wrote them.
CREATE TABLE alert_actions (
  action_id   text PRIMARY KEY,
  alert_id    text        NOT NULL,
  patient_id  text        NOT NULL,
  ward_id     text        NOT NULL,
  action      text        NOT NULL CHECK (action IN ('ack', 'silence')),
  duration_ms bigint,
  user_id     text        NOT NULL,
  role        text        NOT NULL,
  ts          timestamptz NOT NULL
);
CREATE INDEX alert_actions_alert ON alert_actions (alert_id);

-- Keys that pseudonyms were made with: a fingerprint only (HMAC of a fixed label), never the
-- key. A sink started with a different key under the same id refuses to write.
CREATE TABLE audit_keys (
  key_id      text PRIMARY KEY,
  fingerprint text        NOT NULL,
  first_used  timestamptz NOT NULL DEFAULT now()
);

-- The audit trail: every alert transition and every clinician action, append-only. Patients
-- appear only as HMAC-SHA-256 pseudonyms under the key named by key_id.
CREATE TABLE audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_id         text        NOT NULL UNIQUE, -- eventId or actionId: idempotent inserts
  kind              text        NOT NULL CHECK (kind IN ('alert-transition', 'clinician-action')),
  at                timestamptz NOT NULL,
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  ward_id           text        NOT NULL,
  patient_pseudonym text        NOT NULL,
  key_id            text        NOT NULL REFERENCES audit_keys (key_id),
  alert_id          text        NOT NULL,
  rule              text,
  priority          text,
  phase             text,
  action            text,
  actor             text,
  actor_role        text,
  notify            text[],
  rule_version      text
);
CREATE INDEX audit_log_pseudonym ON audit_log (patient_pseudonym, at);
CREATE INDEX audit_log_alert ON audit_log (alert_id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_keys;
DROP TABLE alert_actions;
DROP TABLE alert_events;
DROP TABLE vitals;
