# Reads a systemd EnvironmentFile= as systemd does, for install.sh's `check` run, so that a value
# with spaces, quotes or '#' reaches the service and the check alike. Sourced, not run.
# Rules (systemd.exec, EnvironmentFile=): blank lines and lines starting with '#' or ';' are
# ignored, as are lines without '='; whitespace around the name and before the value is dropped;
# a value in double quotes keeps everything inside them (\" \\ \$ \` are unescaped); a value in single
# quotes is taken literally; an unquoted value loses its trailing whitespace.

# Prints each NAME=value of the file NUL-terminated: mapfile -d '' vars < <(envfile_assignments FILE)
envfile_assignments() {
  local line key value
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in '' | '#'* | ';'*) continue ;; esac
    [[ "$line" == *=* ]] || continue
    key="${line%%=*}"
    key="${key%"${key##*[![:space:]]}"}"
    value="${line#*=}"
    value="${value#"${value%%[![:space:]]*}"}"
    if [[ ${#value} -ge 2 && "$value" == \"*\" ]]; then
      value="${value:1:${#value}-2}"
      value="$(printf '%s' "$value" | sed -e 's/\\\(["\\$`]\)/\1/g')"
    elif [[ ${#value} -ge 2 && "$value" == \'*\' ]]; then
      value="${value:1:${#value}-2}"
    else
      value="${value%"${value##*[![:space:]]}"}"
    fi
    printf '%s=%s\0' "$key" "$value"
  done < "$1"
}
