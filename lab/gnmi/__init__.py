"""The lab's gNMI servers: one grpcio server per simulated switch on loopback (see ``server.py``)."""
