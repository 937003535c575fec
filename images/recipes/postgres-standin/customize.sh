# postgres-standin: finish the rootfs ($1) after mmdebstrap and the files/ overlay. Run by images/build.py.
root=$1
chmod 0755 "$root/usr/local/bin/docker-entrypoint-postgres"
# postgresql-common's postinst made a "17 main" cluster; the image ships none, like the official image.
rm -rf "$root/etc/postgresql/17" "$root/var/lib/postgresql/17"
# The official image's ids (999:999), so a volume moved between the two needs no chown.
old_uid=$(chroot "$root" id -u postgres)
old_gid=$(chroot "$root" id -g postgres)
if [ "$old_uid:$old_gid" != 999:999 ]; then
	chroot "$root" groupmod --gid 999 postgres
	chroot "$root" usermod --uid 999 --gid 999 postgres
	chroot "$root" find / -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) -exec chown -h postgres:postgres '{}' +
fi
# No JIT: libllvm19 and libz3-4 (pulled in only for llvmjit.so) and the bitcode are ~180 MB of the
# ~390 MB. Without llvmjit.so PostgreSQL just runs without JIT (jit=on finds no provider); dpkg keeps
# postgresql-17's dependency on them unmet, which nothing in the image checks.
chroot "$root" dpkg --purge --force-depends libllvm19 libz3-4
rm -rf "$root/usr/lib/postgresql/17/lib/bitcode" "$root"/usr/lib/postgresql/17/lib/llvmjit*
# No private key may ship in an image (ssl-cert's postinst makes a snakeoil pair); the stand-in has no TLS.
rm -f "$root/etc/ssl/private/ssl-cert-snakeoil.key" "$root/etc/ssl/certs/ssl-cert-snakeoil.pem"
# PGDATA's default place (the StatefulSet mounts a PVC subPath here) and the socket dir's parent.
mkdir -p "$root/var/lib/postgresql/data" "$root/docker-entrypoint-initdb.d"
chroot "$root" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data
chmod 0700 "$root/var/lib/postgresql/data"
# Logs go to stderr, not files.
rm -rf "$root/var/log/postgresql"
# The probes call pg_isready; the entrypoint calls initdb, pg_ctl, psql and gosu.
for tool in pg_isready psql initdb pg_ctl postgres; do test -x "$root/usr/lib/postgresql/17/bin/$tool"; done
test -x "$root/usr/sbin/gosu"
chroot "$root" id postgres
chroot "$root" /usr/lib/postgresql/17/bin/postgres --version
