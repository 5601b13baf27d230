# Test target for policies/semgrep/dockerfile.yml, run by `semgrep --test`.
# ruleid: dockerfile-from-latest
FROM python:latest AS build
# ok: dockerfile-from-latest
FROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000
# ruleid: dockerfile-add-url
ADD https://downloads.example.com/tool.tgz /opt/
# ok: dockerfile-add-url
ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://downloads.example.com/tool.tgz /opt/
# ok: dockerfile-add-url
ADD requirements.txt /app/
# ok: dockerfile-user-root
USER root
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates
USER app
RUN make
# ruleid: dockerfile-user-root
USER root
CMD ["/app/run"]
