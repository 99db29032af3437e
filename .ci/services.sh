# Sourced by .ci/test: install and start the services the tests use.
# Exports BEIAN_TEST_POSTGRES_URL and, under CI, BEIAN_REQUIRE_POSTGRES=1 and
# BEIAN_REQUIRE_BROWSER=1 so that those tests fail rather than skip.

need_pkgs=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
# a CJK font, so that Chinese pages render in the browser tests' screenshots
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_pkgs+=(fonts-wqy-zenhei)
if ((${#need_pkgs[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${need_pkgs[*]} (Debian packages)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    else
        echo "note: missing ${need_pkgs[*]}; their tests will skip (run as root to install)" >&2
    fi
fi

# PostgreSQL: start the Debian cluster and create a superuser role and database.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -n "$pg_ver" ]; then
        if ! pg_ctlcluster "$pg_ver" main status >/dev/null 2>&1; then
            pg_ctlcluster "$pg_ver" main start || true
        fi
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
        if pg_isready -q -h 127.0.0.1 -p 5432; then
            runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c \
                "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'beian') THEN CREATE ROLE beian LOGIN SUPERUSER PASSWORD 'beian'; END IF; END \$\$;" >/dev/null
            runuser -u postgres -- psql -q -tc "SELECT 1 FROM pg_database WHERE datname = 'beian'" | grep -q 1 \
                || runuser -u postgres -- createdb -O beian beian
            export BEIAN_TEST_POSTGRES_URL="${BEIAN_TEST_POSTGRES_URL:-postgres://beian:beian@127.0.0.1:5432/beian}"
        fi
    fi
fi

if [ "${CI:-}" = "true" ]; then
    export BEIAN_REQUIRE_POSTGRES=1
    export BEIAN_REQUIRE_BROWSER=1
fi
