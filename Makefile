# The two commands a newcomer needs: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_PKGS := mosquitto mosquitto-clients snmpd snmp prometheus prometheus-alertmanager prometheus-snmp-exporter victoria-metrics
APT_BINS := /usr/sbin/mosquitto /usr/sbin/snmpd /usr/bin/snmpbulkwalk /usr/bin/prometheus /usr/bin/prometheus-alertmanager /usr/bin/prometheus-snmp-exporter /usr/bin/victoria-metrics /usr/bin/vmagent /usr/bin/vmalert

SCHEMA_PKG := tests/dashboards/grafana-schema
SCHEMA_STAMP := $(SCHEMA_PKG)/node_modules/.installed

.PHONY: setup demo test lint typecheck pytest bench clean gnmi-stubs

setup: $(STAMP) apt $(SCHEMA_STAMP)

# Reinstall only when the project metadata changed: a few seconds when everything is there.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

apt:
	@missing=""; for b in $(APT_BINS); do test -x $$b || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $(APT_PKGS)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PKGS) >/dev/null; \
	  else \
	    echo "missing Debian packages; run as root: apt-get install -y $(APT_PKGS)" >&2; exit 1; \
	  fi; \
	fi
.PHONY: apt

# Grafana's dashboard types (@grafana/schema) and the generator the dashboard tests turn them into a JSON
# schema with, at the versions package-lock.json pins (Node.js and npm from Debian when missing).
$(SCHEMA_STAMP): $(SCHEMA_PKG)/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	  else echo "missing npm; run as root: apt-get install -y nodejs npm" >&2; exit 1; fi; }
	npm ci --prefix $(SCHEMA_PKG) --no-audit --no-fund --loglevel=error
	touch $@

# The embedded demo: lab fabric, collector, analyzer and /metrics, with a live table (Ctrl-C ends it).
demo: setup
	$(BIN)/linkmargin inventory show configs/inventory.example.yaml
	$(BIN)/linkmargin demo $(DEMO_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -q

test: setup lint typecheck pytest

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(SCHEMA_PKG)/node_modules

# The gNMI stubs (linkmargin/gnmi/*_pb2*.py, committed) from the vendored protos, with the pinned
# grpcio-tools of the dev extra; the generated code checks the protobuf runtime at import.
gnmi-stubs: setup
	cd $(CURDIR) && $(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. \
	  linkmargin/gnmi/gnmi_ext.proto linkmargin/gnmi/gnmi.proto
	# protoc's .pyi types a module-level extension number as ClassVar, which mypy rejects
	sed -i 's/^GNMI_SERVICE_FIELD_NUMBER: _ClassVar\[int\]/GNMI_SERVICE_FIELD_NUMBER: int/' linkmargin/gnmi/gnmi_pb2.pyi
