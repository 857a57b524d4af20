-- Up Migration
-- "One patient's vitals over a time range" read every row's heap page: a patient's rows are
-- interleaved with every other patient's (the sink writes in arrival order), so 24 h at 1 Hz
-- touched ~86,000 pages and took ~1 s. The primary key now carries the vital values, so that
-- query is an index-only scan over a few hundred contiguous index pages (benchmarks/README.md).
-- Cost: a wider key index on every insert.
ALTER TABLE vitals DROP CONSTRAINT vitals_pkey;
ALTER TABLE vitals ADD PRIMARY KEY (patient_id, ts, device_id, seq)
  INCLUDE (heart_rate, spo2, resp_rate, systolic_bp, diastolic_bp, temperature);

-- Down Migration
ALTER TABLE vitals DROP CONSTRAINT vitals_pkey;
ALTER TABLE vitals ADD PRIMARY KEY (patient_id, ts, device_id, seq);
