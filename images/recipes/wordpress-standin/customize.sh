# wordpress-standin: finish the rootfs ($1) after mmdebstrap and the files/ overlay. Run by images/build.py.
root=$1
chmod 0755 "$root/usr/local/bin/docker-entrypoint-wordpress" "$root/usr/local/bin/apache2-foreground"
chmod 0644 "$root/usr/local/share/storestack/wp-config.php" "$root/etc/apache2/conf-available/storestack.conf" \
  "$root/etc/php/8.4/apache2/conf.d/99-storestack.ini"
# WordPress's tree has absolute symlinks (into /etc/wordpress, /usr/share/javascript, ...): copy it
# inside the chroot so -L resolves them against the image, not the host.
chroot "$root" cp -aL /usr/share/wordpress /usr/src/wordpress
# Debian's wp-config.php loads /etc/wordpress/config-<host>.php; the entrypoint writes ours instead.
rm -f "$root/usr/src/wordpress/wp-config.php" "$root/usr/src/wordpress/wp-config-sample.php"
# Debian's .htaccess is all comments; ours has WordPress's rewrite block (pretty permalinks).
rm -f "$root/usr/src/wordpress/.htaccess"
install -m 0644 "$root/usr/local/share/storestack/htaccess" "$root/usr/src/wordpress/.htaccess"
chroot "$root" chown -R www-data:www-data /usr/src/wordpress
test -f "$root/usr/src/wordpress/wp-includes/version.php"
test -d "$root/usr/src/wordpress/wp-content/themes/twentytwentyfive"
grep "^\$wp_version" "$root/usr/src/wordpress/wp-includes/version.php"
# The docroot starts empty (the pod mounts a PVC there); any uid may fill it, as in the official image.
rm -rf "$root/var/www/html"
mkdir -p "$root/var/www/html"
chroot "$root" chown www-data:www-data /var/www/html
chmod 1777 "$root/var/www/html"
chroot "$root" a2enmod -q rewrite remoteip
chroot "$root" a2enconf -q storestack
# Logs to the container's stdout/stderr (used when Apache starts as root; non-root uses /tmp).
mkdir -p "$root/var/log/apache2"
ln -sfT /dev/stdout "$root/var/log/apache2/access.log"
ln -sfT /dev/stderr "$root/var/log/apache2/error.log"
ln -sfT /dev/stdout "$root/var/log/apache2/other_vhosts_access.log"
chroot "$root" apache2ctl -M 2>/dev/null | grep -E 'php|rewrite|mpm' || true
chroot "$root" bash -c '. /etc/apache2/envvars; apache2 -t'
