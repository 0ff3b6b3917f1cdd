# One image for every role: `docker run IMAGE collect ...`, `... analyze ...`, `... demo`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin linkmargin

WORKDIR /src
COPY pyproject.toml README.md ./
COPY linkmargin ./linkmargin
COPY linkmargin_cli ./linkmargin_cli
COPY collector ./collector
COPY analyzer ./analyzer
COPY lab ./lab
COPY dashboards ./dashboards
RUN pip install --no-cache-dir /src && rm -rf /src/build
COPY configs /etc/linkmargin

USER 10001
WORKDIR /home/linkmargin
ENTRYPOINT ["linkmargin"]
CMD ["--help"]
