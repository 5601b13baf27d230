"""Wazuh SCA policy files, run agentless over SSH with our batching, storage and reports.

loader.py reads the YAML (4.x and 5.x forms) with file:line errors; rules.py parses
`TYPE:target -> EXPR`; regex.py turns PCRE (and Wazuh's older OS_Regex) into Python `re`;
collect.py renders what a policy needs from a host into one shell section and parses it
back; evaluate.py applies Wazuh's semantics locally; kind.py plugs it into the check
registry so a Wazuh check is judged like a native one.
"""
