#!/bin/sh
# A stand-in for WP-CLI (`wp`) with WordPress + WooCommerce behind it, and for `php -r`, used by
# tests/unit/test_setup_script.py to run components/setup_job.py's SETUP_SCRIPT for real.
# Installed twice on PATH: as `wp` and as `php` (it looks at the name it was called by).
#
# State lives in $STANDIN_STATE:
#   argv.log             one line per call: the program name and every argument, space-separated
#   writes.log           one line per change of state (a re-run that changes nothing adds none)
#   options/<name>       an option's value (options/<name>.json marks a value stored with --format=json)
#   hidden_task_lists    WooCommerce's woocommerce_task_list_hidden_lists, one task list id a line
#   admin_password       what `wp core install --prompt=admin_password` read on stdin
#   argv_leaks           processes whose argv held $WP_ADMIN_PASSWORD while WordPress was installed
#   installed, plugins/<slug>, active/<slug>, products/<slug>, transients/<name>
#
# What it reproduces (WP-CLI 2.12 + WooCommerce 10.x):
#   - `wp core is-installed` exits 1 before `wp core install`, 0 after; other commands fail before it.
#   - `wp core install --prompt=admin_password` reads the password from stdin and echoes the assembled
#     command, `--admin_password='<password>'` included, to stdout (as WP-CLI up to 2.12.0 does).
#   - `wp option update woocommerce_task_list_hidden|woocommerce_extended_task_list_hidden yes`:
#     WooCommerce's DeprecatedOptions hooks pre_update_option_*, hides the task list in
#     woocommerce_task_list_hidden_lists and returns false, so WP-CLI prints
#     "Error: Could not update option 'NAME'." to stderr and exits 1. Reading those options goes
#     through its pre_option_* filter (yes when the list is hidden), so once hidden, WP-CLI finds the
#     value unchanged and succeeds: the old script failed twice, then passed, as on a real store.
#   - `wp wc ...` exists only while WooCommerce is active.
#   - Anything it does not know is an error (exit 1), so a new command in the script shows up here.
set -eu

state="${STANDIN_STATE:?STANDIN_STATE must name the stand-in state directory}"
mkdir -p "$state/options" "$state/plugins" "$state/active" "$state/products" "$state/transients"
me="$(basename "$0")"
printf '%s %s\n' "$me" "$*" >>"$state/argv.log"

fail() { printf 'Error: %s\n' "$*" >&2; exit 1; }
changed() { printf '%s\n' "$*" >>"$state/writes.log"; }

if [ "$me" = "php" ]; then
  # The script only runs `php -r '<code>'` to see whether the database answers: it does.
  [ "${1:-}" = "-r" ] || fail "stand-in php only supports -r"
  exit 0
fi

installed() { [ -e "$state/installed" ]; }
wc_active() { [ -e "$state/active/woocommerce" ]; }

# The value of --<name>=<value> among the arguments ("" when absent).
# (sh has no local variables: the helpers' names start with _ so they clobber no caller's.)
assoc() {
  _key="$1"; shift
  for _arg in "$@"; do
    case "$_arg" in --"$_key"=*) printf '%s' "${_arg#--"$_key"=}"; return 0 ;; esac
  done
  return 0
}

has_flag() {
  _flag="$1"; shift
  for _arg in "$@"; do [ "$_arg" = "$_flag" ] && return 0; done
  return 1
}

# Which processes have the admin password on their command line right now (reads /proc).
scan_argv_for_password() {
  [ -d /proc ] || return 0
  for cmdline in /proc/[0-9]*/cmdline; do
    args="$(tr '\0' ' ' 2>/dev/null <"$cmdline" || true)"
    case "$args" in *"$WP_ADMIN_PASSWORD"*) printf '%s\n' "$cmdline" >>"$state/argv_leaks" ;; esac
  done
}

hidden_lists_json() {
  ids=""
  if [ -s "$state/hidden_task_lists" ]; then
    while read -r id; do ids="$ids${ids:+,}\"$id\""; done <"$state/hidden_task_lists"
  fi
  printf '[%s]\n' "$ids"
}

hide_task_list() {  # what WooCommerce's TaskList::hide() does: add the id once
  touch "$state/hidden_task_lists"
  if ! grep -qx "$1" "$state/hidden_task_lists"; then
    printf '%s\n' "$1" >>"$state/hidden_task_lists"
    changed "task list $1 hidden"
  fi
}

deprecated_task_list() {  # the task list id behind a deprecated option
  if [ "$1" = woocommerce_extended_task_list_hidden ]; then echo extended; else echo setup; fi
}

deprecated_task_list_option() {  # WooCommerce's pre_option filter: yes when that list is hidden
  if [ -e "$state/hidden_task_lists" ] && grep -qx "$(deprecated_task_list "$1")" "$state/hidden_task_lists"; then
    echo yes
  else
    echo no
  fi
}

option_get() {  # option_get <name> [--format=json]
  name="$1"; shift
  case "$name" in
    woocommerce_task_list_hidden | woocommerce_extended_task_list_hidden)
      if wc_active; then deprecated_task_list_option "$name"; return 0; fi ;;
  esac
  if [ "$name" = woocommerce_task_list_hidden_lists ] && [ -e "$state/hidden_task_lists" ]; then
    hidden_lists_json
    return 0
  fi
  [ -e "$state/options/$name" ] || fail "Could not get '$name' option. Does it exist?"
  if [ "$(assoc format "$@")" = json ] && [ ! -e "$state/options/$name.json" ]; then
    printf '"%s"\n' "$(cat "$state/options/$name")"
  else
    cat "$state/options/$name"
    echo
  fi
}

option_update() {  # option_update <name> <value> [--format=json]
  [ $# -ge 2 ] || fail "option update needs a name and a value"
  name="$1"; value="$2"; shift 2
  case "$name" in
    woocommerce_task_list_hidden | woocommerce_extended_task_list_hidden)
      if wc_active; then
        # WP-CLI first compares with get_option(), which WooCommerce's pre_option filter answers
        # from the hidden task lists; otherwise DeprecatedOptions' pre_update_option filter hides
        # the list and returns false, so update_option() fails.
        if [ "$value" = "$(deprecated_task_list_option "$name")" ]; then
          echo "Success: Value passed for '$name' option is unchanged."
          return 0
        fi
        [ "$value" = yes ] && hide_task_list "$(deprecated_task_list "$name")"
        fail "Could not update option '$name'."
      fi
      ;;
    woocommerce_task_list_hidden_lists)
      if [ "$(assoc format "$@")" = json ]; then
        case "$value" in \[*\]) ;; *) fail "woocommerce_task_list_hidden_lists must be a JSON list" ;; esac
        old="$(hidden_lists_json)"
        printf '%s' "$value" | tr -d '[] "' | tr ',' '\n' | grep -v '^$' >"$state/hidden_task_lists.new" || true
        mv "$state/hidden_task_lists.new" "$state/hidden_task_lists"
        if [ "$(hidden_lists_json)" = "$old" ]; then
          echo "Success: Value passed for '$name' option is unchanged."
        else
          changed "option $name"
          echo "Success: Updated '$name' option."
        fi
        return 0
      fi
      ;;
  esac
  if [ -e "$state/options/$name" ] && [ "$(cat "$state/options/$name")" = "$value" ]; then
    echo "Success: Value passed for '$name' option is unchanged."
    return 0
  fi
  printf '%s' "$value" >"$state/options/$name"
  if [ "$(assoc format "$@")" = json ]; then touch "$state/options/$name.json"; fi
  changed "option $name"
  echo "Success: Updated '$name' option."
}

[ $# -ge 1 ] || fail "no command"
command="$1"
sub="${2:-}"

if ! installed; then
  case "$command $sub" in
    "core is-installed" | "core install") ;;
    *) fail "The site you have requested is not installed. Run \`wp core install\` first." ;;
  esac
fi

case "$command $sub" in
  "core is-installed")
    installed
    ;;
  "core install")
    shift 2
    installed && { echo "WordPress is already installed."; exit 0; }
    has_flag --prompt=admin_password "$@" || fail "stand-in: expected --prompt=admin_password"
    IFS= read -r password || true
    [ -n "$password" ] || fail "missing --admin_password parameter"
    printf '%s' "$password" >"$state/admin_password"
    scan_argv_for_password
    # WP-CLI (up to 2.12.0) echoes the command it assembled from the prompts, unmasked:
    quoted=""
    for arg in "$@"; do
      case "$arg" in --prompt=*) ;; *) quoted="$quoted $arg" ;; esac
    done
    echo "wp core install$quoted --admin_password='$password'"
    touch "$state/installed"
    printf '' >"$state/options/permalink_structure"
    # wp_install() stores the title and the e-mail as the site's options.
    printf '%s' "$(assoc title "$@")" >"$state/options/blogname"
    printf '%s' "$(assoc admin_email "$@")" >"$state/options/admin_email"
    changed "core installed"
    echo "Success: WordPress installed successfully."
    ;;
  "core update-db")
    echo "Success: WordPress database already at latest db version 60421."
    ;;
  "option get")
    shift 2
    option_get "$@"
    ;;
  "option update")
    shift 2
    option_update "$@"
    ;;
  "rewrite structure")
    [ "$(cat "$state/options/permalink_structure")" = "$3" ] || {
      printf '%s' "$3" >"$state/options/permalink_structure"
      changed "permalinks $3"
    }
    echo "Success: Rewrite structure set."
    ;;
  "rewrite flush")
    echo "Success: Rewrite rules flushed."
    ;;
  "plugin is-installed")
    [ -e "$state/plugins/$3" ]
    ;;
  "plugin is-active")
    [ -e "$state/active/$3" ]
    ;;
  "plugin install")
    slug="$3"; shift 3
    version="$(assoc version "$@")"
    if [ -e "$state/plugins/$slug" ] && ! has_flag --force "$@"; then
      echo "Warning: $slug: Plugin already installed." >&2
      exit 0
    fi
    [ "$version" != 0.0.0 ] || fail "Download failed. Not Found"
    echo "Installing WooCommerce ($version)"
    echo "Downloading installation package from https://downloads.wordpress.org/plugin/$slug.$version.zip..."
    printf '%s' "$version" >"$state/plugins/$slug"
    changed "plugin $slug $version installed"
    echo "Success: Installed 1 of 1 plugins."
    ;;
  "maintenance-mode activate")
    if [ -e "$state/maintenance" ] && ! has_flag --force "$@"; then fail "Maintenance mode already active."; fi
    touch "$state/maintenance"
    changed "maintenance on"
    echo "Enabling Maintenance mode..."
    echo "Success: Activated Maintenance mode."
    ;;
  "maintenance-mode deactivate")
    [ -e "$state/maintenance" ] || fail "Maintenance mode already deactivated."
    rm "$state/maintenance"
    changed "maintenance off"
    echo "Disabling Maintenance mode..."
    echo "Success: Deactivated Maintenance mode."
    ;;
  "plugin get")
    [ -e "$state/plugins/$3" ] || fail "The '$3' plugin could not be found."
    [ "$(assoc field "$@")" = version ] || fail "stand-in: only --field=version"
    cat "$state/plugins/$3"
    echo
    ;;
  "plugin activate")
    [ -e "$state/plugins/$3" ] || fail "The '$3' plugin could not be found."
    touch "$state/active/$3"
    # WooCommerce's activation sets the transient that redirects to its onboarding wizard.
    [ "$3" = woocommerce ] && touch "$state/transients/_wc_activation_redirect"
    changed "plugin $3 activated"
    echo "Plugin '$3' activated."
    echo "Success: Activated 1 of 1 plugins."
    ;;
  "transient delete")
    [ -e "$state/transients/$3" ] || fail "Transient with key '$3' is not set."
    rm "$state/transients/$3"
    changed "transient $3 deleted"
    echo "Success: Transient deleted."
    ;;
  "post list")
    shift 2
    [ "$(assoc post_type "$@")" = product ] || fail "stand-in: only --post_type=product"
    [ "$(assoc format "$@")" = ids ] || fail "stand-in: only --format=ids"
    slug="$(assoc name "$@")"
    if [ -e "$state/products/$slug" ]; then cat "$state/products/$slug"; echo; fi
    ;;
  "wc "*)
    wc_active || fail "'wc' is not a registered wp command. See 'wp help' for available commands."
    case "$*" in
      "wc update") echo "Success: No updates required. Database version is 10.3.5." ;;
      "wc tool run install_pages "*) echo "Success: Updated install_pages." ;;
      "wc product create "*)
        slug="$(assoc slug "$@")"
        [ -n "$slug" ] || fail "stand-in: wc product create needs --slug"
        [ -n "$(assoc user "$@")" ] || fail "Sorry, you cannot create resources."
        [ ! -e "$state/products/$slug" ] || fail "stand-in: product $slug exists already (not idempotent)"
        printf '%s' 15 >"$state/products/$slug"
        changed "product $slug created"
        echo "Success: Created product 15."
        ;;
      *) fail "stand-in: unknown wc command: $*" ;;
    esac
    ;;
  *)
    fail "stand-in: unknown command: $*"
    ;;
esac
