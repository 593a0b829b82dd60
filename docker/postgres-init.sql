-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d), as the
-- POSTGRES_USER, connected to POSTGRES_DB (the Airflow metadata database). It creates the audit
-- store's own database on the same server, so `airflow db clean` or a metadata-DB restore never
-- touches the audit history. scripts/cluster_test.py runs this same file.
CREATE DATABASE socialaudit;
