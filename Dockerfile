# The socialaudit image: Airflow 3.3.2 on Python 3.11 plus the project's runtime dependencies,
# installed from requirements.txt with the tested versions in constraints.txt (never through
# _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls on every container start).
FROM apache/airflow:3.3.2-python3.11

USER airflow
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/socialaudit/
# apache-airflow is pinned in requirements.txt, so pip keeps the image's Airflow and only adds or
# aligns the project's libraries to the versions the test suite ran with.
RUN pip install --no-cache-dir -r /opt/socialaudit/requirements.txt -c /opt/socialaudit/constraints.txt

# The project itself, so the image runs without the bind mounts too (docker-compose.yml mounts the
# same folders over these, so a `git pull` and a restart update a running deployment).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 templates/ /opt/airflow/templates/
COPY --chown=airflow:0 config/ /opt/airflow/config/

ENV SOCIALAUDIT_OUTPUT=/opt/airflow/output
