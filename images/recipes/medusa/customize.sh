# medusa: finish the rootfs ($1) after mmdebstrap and the files/ overlay. Run by images/build.py with
# the recipe as cwd. The app is installed and built on the host (its node and npm; npm's cache in
# ~/.npm stays warm between builds, a fresh machine needs only the registry) in a directory beside
# the rootfs, inside the Builder's work dir, which the Builder removes: nothing lands in the recipe.
root=$1
set -o pipefail
work=$(mktemp -d "$(dirname "$root")/app.XXXXXX")
cp -a app/. "$work/"
cd "$work"
mkdir home
# Dev dependencies are needed (typescript, @swc/core, the admin bundler's peers): no NODE_ENV here.
env -u NODE_ENV npm ci --foreground-scripts --no-audit --no-fund --cache "${npm_config_cache:-$HOME/.npm}"
# The admin is built with MEDUSA_BACKEND_URL unset: it calls its own origin, so one image serves
# every store. HOME is private so the CLI's telemetry config and swc's cache stay out of the host's.
env -u MEDUSA_BACKEND_URL HOME="$work/home" NODE_ENV=production MEDUSA_DISABLE_TELEMETRY=true \
	node_modules/.bin/medusa build
test -f .medusa/server/medusa-config.js && test -f .medusa/server/public/admin/index.html
test -f .medusa/server/src/scripts/seed.js && test -f .medusa/server/src/scripts/create-admin.js
# /app = the build output + the node_modules it was built with (`npm ci --omit=dev` in the output dir
# would fetch the same ~1080 packages again: react-dom, @swc/core, vite are peers of @medusajs/medusa).
mkdir -p "$root/app"
cp -a .medusa/server/. "$root/app/"
mv node_modules "$root/app/node_modules"
rm -rf "$root/app/node_modules/.cache" "$root/app/node_modules/.vite"
# `medusa db:migrate` (MikroORM's migrator) mkdirs dist/migrations for each module that ships none
# (auth-emailpass, file, locking, ...): on the read-only /app that fails, so make them here, empty.
for dist in "$root"/app/node_modules/@medusajs/*/dist; do
	mkdir -p "$dist/migrations"
done
chown -R 0:0 "$root/app"
chmod -R u+rwX,go+rX,go-w "$root/app"
cd /
rm -rf "$work"
chmod 0755 "$root/usr/local/bin/storestack-medusa"
# The runtime user (uid/gid 1000, HOME /tmp); no shell, no password.
grep -q '^medusa:' "$root/etc/group" || echo 'medusa:x:1000:' >>"$root/etc/group"
grep -q '^medusa:' "$root/etc/passwd" || echo 'medusa:x:1000:1000:Medusa:/tmp:/usr/sbin/nologin' >>"$root/etc/passwd"
grep -q '^medusa:' "$root/etc/shadow" || echo 'medusa:!:20000::::::' >>"$root/etc/shadow"
# Smoke checks: trixie's node is new enough for Medusa (^20.19) and resolves the app from /app.
chroot "$root" node -e 'const [a, b] = process.versions.node.split(".").map(Number);
if (a !== 20 || b < 19) { console.error(`node ${process.version} is not ^20.19`); process.exit(1) }
console.log(`node ${process.version}`)'
chroot "$root" sh -c 'cd /app && node -p "require.resolve(\"@medusajs/medusa/package.json\") + \" \" + require(\"@medusajs/medusa/package.json\").version"'
du -sh "$root/app"
