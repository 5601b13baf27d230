"""`sshd_config`: an sshd setting as sshd applies it to every connection that matters.

`sshd -T` alone prints the *global* settings: a `Match Address *` block that says
`PermitRootLogin yes` does not show there, yet every remote root login gets it. So this
kind reads the Match lines of sshd_config (following `Include`, as sshd does) and, when
there are any, asks sshd again with `sshd -T -C user=…,host=…,addr=…` (sshd_config(5):
the connection spec picks the Match blocks that apply) for:

- root from a remote address, and an ordinary local user (the first UID >= 1000) from one;
- one connection per Match block, built to satisfy its criteria: `User`/`Host` patterns
  with their wildcards filled in, `Group` through a member found in /etc/group or by
  primary GID in /etc/passwd, `Address`/`LocalAddress` through the network address of a
  CIDR (or 192.0.2.1, TEST-NET, when a wildcard allows it), `LocalPort`, `RDomain`.

A check fails when any of these connections gets a value the policy does not allow; the
observed value names the Match block and the connection that relaxed it. A Match block no
connection can be built for (a group without a local member) is an error, never a pass.
Without Match lines one `sshd -T` answers everything, as before: all checks of this kind
on a host share that one run (and the scan of the config files uses shell builtins only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from compliance.hosts.batch import Section, SectionResult
from compliance.hosts.checks.interface import (
    CheckKind,
    CheckStatus,
    ValueExpectation,
    Verdict,
)

CONFIG = "/etc/ssh/sshd_config"
REMOTE = "192.0.2.1"
"""A remote address for the connection spec (TEST-NET-1: sshd only compares it)."""
REMOTE_HOST = "audit.invalid"
LOCAL = "192.0.2.2"
"""The server's own address and port 22 in every spec: a `Match LocalAddress`/`LocalPort`
makes sshd refuse a spec without laddr/lport (and makes plain `sshd -T` fail)."""

_MATCH_AWK = r"""
function pick(list, neg,   items, n, i) {
  n = split(list, items, ","); neg = ""
  for (i = 1; i <= n; i++) if (substr(items[i], 1, 1) != "!") return items[i]
  return ""
}
function fill(p, with) { gsub(/[*?]/, with, p); return p }
function addr(p,   r) {
  if (p == "") return REMOTE
  sub(/\/.*/, "", p)
  if (p ~ /[*?]/) {
    r = p; gsub(/\./, "\\.", r); gsub(/\*/, ".*", r); gsub(/\?/, ".", r)
    if (REMOTE ~ ("^" r "$")) return REMOTE
    return fill(p, "1")
  }
  return p
}
FILENAME == "/etc/passwd" {
  if (ordinary == "" && $3 >= 1000 && $3 < 60000) ordinary = $1
  if (!($4 in primary)) primary[$4] = $1
  next
}
FILENAME == "/etc/group" {
  gid[$1] = $3
  if ($4 != "") { split($4, m, ","); member[$1] = m[1] }
  next
}
{
  line = $0; n = split(line, t, " ")
  u = "root"; h = REMOTE_HOST; a = REMOTE; la = LOCAL; lp = "22"; extra = ""; bad = ""
  for (i = 1; i <= n; i++) {
    k = tolower(t[i])
    if (k == "all") continue
    v = t[++i]
    if (k == "user") {
      p = pick(v); u = (p == "") ? (ordinary == "" ? "nobody" : ordinary) : fill(p, "x")
    }
    else if (k == "group") {
      p = pick(v)
      if (p ~ /[*?]/ || p == "") bad = "no group name to resolve in " v
      else if (p in member) u = member[p]
      else if ((p in gid) && (gid[p] in primary)) u = primary[gid[p]]
      else bad = "group " p " has no member in /etc/group or /etc/passwd"
    }
    else if (k == "host") { p = pick(v); if (p != "") h = fill(p, "x") }
    else if (k == "address") a = addr(pick(v))
    else if (k == "localaddress") la = addr(pick(v))
    else if (k == "localport") { p = pick(v); if (p != "") lp = p }
    else if (k == "rdomain") { p = pick(v); if (p != "") extra = extra ",rdomain=" p }
  }
  if (bad != "") { print "!\t" line "\t" bad; next }
  spec = "user=" u ",host=" h ",addr=" a ",laddr=" la ",lport=" lp extra
  if (!(spec in seen)) { seen[spec] = 1; print spec "\tMatch " line }
}
END {
  if (ordinary == "") ordinary = "nobody"
  tail = ",host=" REMOTE_HOST ",addr=" REMOTE ",laddr=" LOCAL ",lport=22"
  if (!(("user=root" tail) in seen)) print "user=root" tail "\troot from a remote address"
  if (!(("user=" ordinary tail) in seen))
    print "user=" ordinary tail "\tan ordinary user (" ordinary ") from a remote address"
}
"""

SCRIPT = f"""\
echo '@@ global'
sshd -T 2>&1 </dev/null || echo "@@ status $?"
_ml=
_sc() {{
  [ "$2" -lt 16 ] || return 0
  while read -r _a _b; do
    case "$_a" in
      [Mm][Aa][Tt][Cc][Hh]) _ml="$_ml$_b
";;
      [Ii][Nn][Cc][Ll][Uu][Dd][Ee])
        for _g in $_b; do
          case "$_g" in /*) ;; *) _g=/etc/ssh/$_g;; esac
          for _i in $_g; do [ -f "$_i" ] && _sc "$_i" $(($2 + 1)); done
        done;;
    esac
  done < "$1"
}}
[ -r {CONFIG} ] && _sc {CONFIG} 0
[ -n "$_ml" ] || exit 0
printf '%s' "$_ml" |
awk -F: -v REMOTE={REMOTE} -v LOCAL={LOCAL} -v REMOTE_HOST={REMOTE_HOST} '{_MATCH_AWK}' \\
  /etc/passwd /etc/group - 2>&1 |
while IFS='\t' read -r _s _l _e; do
  if [ "$_s" = '!' ]; then printf '@@ unresolved %s\\t%s\\n' "$_l" "$_e"; continue; fi
  printf '@@ context %s\\t%s\\n' "$_s" "$_l"
  sshd -T -C "$_s" 2>&1 </dev/null || echo "@@ status $?"
done
"""


class SshdConfigParams(ValueExpectation):
    key: str
    """An sshd keyword as `sshd -T` prints it (lower case: permitrootlogin)."""


@dataclass
class _Block:
    label: str
    spec: str = ""
    values: dict[str, str] = field(default_factory=dict)
    status: int = 0
    text: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Answer:
    blocks: tuple[_Block, ...]
    unresolved: tuple[str, ...]


@lru_cache(maxsize=8)
def _parse(output: str) -> _Answer:
    """The shared output → global settings, one block per connection context. Parsed once
    per host: every sshd check of the host reads the same output. Never modified."""
    blocks: list[_Block] = []
    unresolved = []
    for line in output.splitlines():
        if line == "@@ global":
            blocks.append(_Block("global (sshd -T)"))
        elif line.startswith("@@ context "):
            spec, _, label = line[len("@@ context ") :].partition("\t")
            blocks.append(_Block(label, spec))
        elif line.startswith("@@ unresolved "):
            criteria, _, why = line[len("@@ unresolved ") :].partition("\t")
            unresolved.append(f"`Match {criteria}`: {why}")
        elif line.startswith("@@ status ") and blocks:
            blocks[-1].status = int(line.split()[-1]) if line.split()[-1].isdigit() else 255
        elif blocks:
            block = blocks[-1]
            block.text.append(line)
            parts = line.split(None, 1)
            if parts and parts[0].islower() and parts[0].isalnum():
                block.values.setdefault(parts[0], parts[1].strip() if len(parts) > 1 else "")
    return _Answer(tuple(blocks), tuple(unresolved))


class SshdConfig(CheckKind[SshdConfigParams]):
    name = "sshd_config"
    params = SshdConfigParams

    def section(self, params: SshdConfigParams, budget: float) -> Section:
        return Section(SCRIPT, budget, 1024 * 1024)

    def shared_section(self, params: Sequence[SshdConfigParams], budget: float) -> Section:
        return self.section(params[0], budget)

    def evaluate(self, params: SshdConfigParams, result: SectionResult) -> Verdict:
        key = params.key.lower()
        expected = f"{key} {params.describe()} (sshd -T, and under every Match block)"
        if result.truncated:  # a cut-off context would read as "key absent"
            return Verdict(
                CheckStatus.ERROR,
                result.output[-200:],
                expected,
                "sshd -T output went over its limit (more than a thousand Match blocks?)",
            )
        answer = _parse(result.output)
        if not answer.blocks or result.status != 0:
            said = result.output.strip() or "no output"
            return Verdict(CheckStatus.ERROR, said, expected, f"sshd -T did not run: {said[:200]}")
        judged = answer.blocks
        if judged[0].status and len(judged) > 1:
            # plain `sshd -T` refuses a config with `Match LocalPort` (no lport to test):
            # the root and ordinary-user connections then stand in for the global settings
            judged = judged[1:]
        for block in judged:
            if block.status:
                said = " ".join(block.text).strip() or "no output"
                where = f"sshd -T -C {block.spec}" if block.spec else "sshd -T"
                return Verdict(
                    CheckStatus.ERROR,
                    said,
                    expected,
                    f"`{where}` exited with status {block.status}: {said[:200]}",
                )
        glob = judged[0]
        if key not in glob.values:
            return Verdict(
                CheckStatus.ERROR,
                f"{key} not in the output of sshd -T",
                expected,
                f"sshd -T does not print {key}: not an sshd keyword on this OpenSSH version",
            )
        globally_ok = params.holds(glob.values[key])
        relaxed = [
            f"{key} {value} under {block.label} (sshd -T -C {block.spec})"
            for block in judged[1:]
            if not params.holds(value := block.values.get(key, glob.values[key]))
            and (globally_ok or value != glob.values[key])  # a global failure is said once
        ]
        global_line = f"{key} {glob.values[key]}"
        if not globally_ok:
            relaxed.insert(0, f"{global_line} (global)")
        if relaxed:
            if globally_ok:
                relaxed.append(f"global: {global_line}")
            return Verdict(CheckStatus.FAIL, "; ".join(relaxed), expected)
        if answer.unresolved:
            why = "; ".join(answer.unresolved)
            return Verdict(
                CheckStatus.ERROR,
                f"{global_line}; not evaluated: {why}",
                expected,
                f"a Match block could not be evaluated ({why}): add a local member or "
                "audit that connection by hand",
            )
        contexts = len(judged) - 1
        observed = global_line
        if contexts:
            observed += f" (global, and the same under {contexts} connection contexts)"
        return Verdict(CheckStatus.PASS, observed, expected)
