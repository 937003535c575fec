<?php
/**
 * wp-config.php of the Storestack wordpress stand-in (our own; written by docker-entrypoint-wordpress).
 *
 * Every setting is read from the environment at run time, so the pod's env (and its Secret) stays
 * the single source: WORDPRESS_DB_HOST, _DB_USER, _DB_PASSWORD, _DB_NAME, _DB_CHARSET, _DB_COLLATE,
 * the eight keys and salts, WORDPRESS_TABLE_PREFIX (default wp_), WORDPRESS_DEBUG and
 * WORDPRESS_CONFIG_EXTRA (PHP code evaluated here). Each may instead be given as NAME_FILE, a path
 * to read it from. A key or salt missing from the environment falls back to a random value that
 * the entrypoint generated when it wrote this file.
 */

if (!function_exists('storestack_env')) {
	function storestack_env(string $name, string $default = ''): string
	{
		$file = getenv($name . '_FILE');
		if (is_string($file) && $file !== '') {
			$value = @file_get_contents($file);
			return is_string($value) ? rtrim($value, "\r\n") : $default;
		}
		$value = getenv($name);
		return is_string($value) ? $value : $default;
	}
}

define('DB_NAME', storestack_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', storestack_env('WORDPRESS_DB_USER', 'wordpress'));
define('DB_PASSWORD', storestack_env('WORDPRESS_DB_PASSWORD'));
define('DB_HOST', storestack_env('WORDPRESS_DB_HOST', 'mysql'));
define('DB_CHARSET', storestack_env('WORDPRESS_DB_CHARSET', 'utf8mb4'));
define('DB_COLLATE', storestack_env('WORDPRESS_DB_COLLATE'));

foreach (
	[
		'AUTH_KEY' => '@STORESTACK_FALLBACK_1@',
		'SECURE_AUTH_KEY' => '@STORESTACK_FALLBACK_2@',
		'LOGGED_IN_KEY' => '@STORESTACK_FALLBACK_3@',
		'NONCE_KEY' => '@STORESTACK_FALLBACK_4@',
		'AUTH_SALT' => '@STORESTACK_FALLBACK_5@',
		'SECURE_AUTH_SALT' => '@STORESTACK_FALLBACK_6@',
		'LOGGED_IN_SALT' => '@STORESTACK_FALLBACK_7@',
		'NONCE_SALT' => '@STORESTACK_FALLBACK_8@',
	] as $storestack_name => $storestack_fallback
) {
	define($storestack_name, storestack_env('WORDPRESS_' . $storestack_name, $storestack_fallback));
}
unset($storestack_name, $storestack_fallback);

$table_prefix = storestack_env('WORDPRESS_TABLE_PREFIX', 'wp_');

define('WP_DEBUG', (bool) storestack_env('WORDPRESS_DEBUG'));

// Behind a TLS-terminating proxy or ingress.
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && stripos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
	$_SERVER['HTTPS'] = 'on';
}

$storestack_extra = storestack_env('WORDPRESS_CONFIG_EXTRA');
if ($storestack_extra !== '') {
	eval($storestack_extra);
}
unset($storestack_extra);

if (!defined('ABSPATH')) {
	define('ABSPATH', __DIR__ . '/');
}

require_once ABSPATH . 'wp-settings.php';
