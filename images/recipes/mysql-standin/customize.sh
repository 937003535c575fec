# mysql-standin: finish the rootfs ($1) after mmdebstrap and the files/ overlay. Run by images/build.py.
root=$1
chmod 0755 "$root/usr/local/bin/docker-entrypoint-mysql"
chmod 0644 "$root/etc/mysql/mariadb.conf.d/99-storestack.cnf"
# The package's postinst initialised a datadir; the image ships an empty one, like the official image.
rm -rf "$root/var/lib/mysql"
mkdir -p "$root/var/lib/mysql" "$root/run/mysqld" "$root/docker-entrypoint-initdb.d"
chroot "$root" chown mysql:mysql /var/lib/mysql /run/mysqld
chmod 0750 "$root/var/lib/mysql"
chmod 0755 "$root/run/mysqld"
# Logs go to stderr, not files.
rm -rf "$root/var/log/mysql"
# The probes call mysql and mysqladmin (mariadb-client-compat); fail the build if they are missing.
test -x "$root/usr/bin/mysql" && test -x "$root/usr/bin/mysqladmin" && test -x "$root/usr/sbin/gosu"
chroot "$root" mariadbd --version
