"""The login the lab's gNMI servers accept: a fixed username, the password from the environment."""

from __future__ import annotations

import os

LAB_GNMI_USER = "linkmargin"
PASSWORD_ENV = "LINKMARGIN_LAB_GNMI_PASSWORD"


def lab_login() -> tuple[str, str]:
    """The username and password the lab's gNMI servers accept (password from the environment, else
    the lab default), like the SNMP agents' v3 keys (``lab.fabric.v3_keys``)."""
    return LAB_GNMI_USER, os.environ.get(PASSWORD_ENV, "lab-gnmi-password")
