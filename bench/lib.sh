# Shared by the bench scripts: PostgreSQL test data, S3Proxy and the service, all on 127.0.0.1.
# Source it after setting SIZE_MB; it defines functions only.

PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

# Mixed data: numbers, text, jsonb and random bytea (incompressible), ~1 KB a row, until SIZE MB.
fill_table() { # db table size_mb [size_of]: rows until size_of (pg_database_size of db, or the table's size) reaches size_mb
  local size="pg_database_size('$1')" rows_per_batch=100000 batch=0
  [ "${4:-database}" = table ] && size="pg_relation_size('$2')"
  psql -qAt -d "$1" -c "CREATE TABLE $2 (id bigint PRIMARY KEY, qty int, price numeric(12,2), label text, doc jsonb, blob bytea)"
  while [ "$(psql -qAt -d "$1" -c "SELECT $size / 1048576")" -lt "$3" ]; do
    psql -qAt -d "$1" -c "INSERT INTO $2
      SELECT g, (random() * 1000)::int, round((random() * 10000)::numeric, 2),
             'item ' || g || ' ' || repeat(md5(g::text), 3),
             jsonb_build_object('id', g, 'tags', jsonb_build_array('a', 'b', g % 13), 'note', md5((g * 3)::text)),
             gen_random_bytes(256)
      FROM generate_series($((batch * rows_per_batch + 1)), $(((batch + 1) * rows_per_batch))) g"
    batch=$((batch + 1))
  done
}

populate() { # db size_mb: one table, items
  psql -qAt -d postgres -c "CREATE DATABASE $1" >/dev/null
  psql -qAt -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
  fill_table "$1" items "$2"
  psql -qAt -d "$1" -c "VACUUM ANALYZE items"
}

populate_tables() { # db size_mb tables: that many tables of size_mb/tables each, with indexes on qty and label
  psql -qAt -d postgres -c "CREATE DATABASE $1" >/dev/null
  psql -qAt -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
  local t
  for t in $(seq 1 "$3"); do
    fill_table "$1" "items_$t" $(($2 / $3)) table
    psql -qAt -d "$1" -c "CREATE INDEX ON items_$t (qty); CREATE INDEX ON items_$t (label)"
  done
  psql -qAt -d "$1" -c "VACUUM ANALYZE"
}

populate_mixed() { # db size_mb: the shape of issue 21: one table of 3/8 of size_mb, six of 3/40 each, two indexes on every table
  psql -qAt -d postgres -c "CREATE DATABASE $1" >/dev/null
  psql -qAt -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null
  fill_table "$1" items_big $(($2 * 3 / 8)) table
  psql -qAt -d "$1" -c "CREATE INDEX ON items_big (qty); CREATE INDEX ON items_big (label)"
  local t
  for t in 1 2 3 4 5 6; do
    fill_table "$1" "items_$t" $(($2 * 3 / 40)) table
    psql -qAt -d "$1" -c "CREATE INDEX ON items_$t (qty); CREATE INDEX ON items_$t (label)"
  done
  psql -qAt -d "$1" -c "VACUUM ANALYZE"
}

need_peer() { # command: the peer tool a bench compares with, installed from its Debian package (same name) when missing
  command -v "$1" >/dev/null && return 0
  echo "installing $1 (Debian package) ..."
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else echo "$1 is needed: apt-get install $1" >&2; exit 1; fi
}

s3proxy_jar() {
  local jar
  jar="$(ls ~/.m2/repository/org/gaul/s3proxy/*/s3proxy-*-jar-with-dependencies.jar 2>/dev/null | tail -n 1 || true)"
  if [ -z "$jar" ]; then
    mvn -q dependency:get -Dartifact=org.gaul:s3proxy:2.7.0:jar:jar-with-dependencies >/dev/null
    jar="$(ls ~/.m2/repository/org/gaul/s3proxy/*/s3proxy-*-jar-with-dependencies.jar | tail -n 1)"
  fi
  echo "$jar"
}

start_s3proxy() { # workdir port -> sets S3PROXY_PID
  mkdir -p "$1/s3data/backups"
  cat > "$1/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$2
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench
s3proxy.credential=bench-secret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$1/s3data
CONF
  java -jar "$(s3proxy_jar)" --properties "$1/s3proxy.conf" >"$1/s3proxy.log" 2>&1 &
  S3PROXY_PID=$!
}

# The service's config for a bench run: filesystem target "fs", S3Proxy target "s3", then the given extra YAML.
write_config() { # workdir app_port admin_port s3_port extra_yaml
  cat > "$1/config.yml" <<CONF
server:
  applicationConnectors: [{type: http, port: $2}]
  adminConnectors: [{type: http, port: $3}]
  requestLog: {appenders: []}
catalog: {url: "jdbc:h2:$1/catalog"}
auth: {generatedTokenFile: $1/api-token}
disk: {paths: [$1]}
snapshots: {stagingPath: $1/staging}
storage:
  targets:
    - {type: filesystem, name: fs, path: $1/fs}
    - {type: s3, name: s3, bucket: backups, endpoint: "http://127.0.0.1:$4", pathStyleAccess: true,
       checksumMode: WHEN_REQUIRED, accessKeyId: bench, secretAccessKey: bench-secret}
logging: {level: WARN}
$5
CONF
}

start_service() { # workdir config heap admin_port -> sets SERVICE_PID, TOKEN
  # JAVA_OPTS: extra JVM flags for a trial (e.g. JAVA_OPTS=-XX:G1HeapRegionSize=4m)
  java -Xms"$3" -Xmx"$3" ${JAVA_OPTS:-} -jar service/target/backstop.jar server "$2" >"$1/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 100); do curl -fs "127.0.0.1:$4/health/ready" >/dev/null 2>&1 && break; sleep 0.3; done
  TOKEN="$(cat "$1/api-token")"
}

now() { date +%s.%N; }

# POSTs a JSON body and polls the Location until the field $3 leaves the running states; prints the final body.
submit_and_wait() { # url body
  local loc body
  loc=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "$2" "$1" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  # A refused request (4xx, 5xx) has no Location to poll: stop here rather than poll nothing forever.
  [ -n "$loc" ] || { echo "POST $1 was refused (body: $2)" >&2; return 1; }
  local last=""
  while :; do
    body=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$loc")
    if [ -n "${PHASES_LOG:-}" ]; then # each phase a restore enters, with the time it was first seen
      local phase; phase=$(json_field phase "$body")
      [ "$phase" != "$last" ] && echo "$(now) $phase" >> "$PHASES_LOG" && last=$phase
    fi
    case "$body" in # until the run ends (a restore's phases grow: RECOVERING came later than this loop)
      *'"status":"COMPLETED"'*|*'"status":"FAILED"'*|*'"status":"CANCELLED"'*) break ;;
      *'"phase":"COMPLETED"'*|*'"phase":"FAILED"'*|*'"phase":"CANCELLED"'*) break ;;
      *) sleep 0.1 ;;
    esac
  done
  echo "$body"
}

json_field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/" <<<"$2"; }
