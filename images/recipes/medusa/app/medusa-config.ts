// Storestack's Medusa configuration: everything comes from the environment the store's pods get
// (see images/recipes/medusa/recipe.json and storestack-medusa for the contract).
import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

/**
 * The database URL composed from MEDUSA_DATABASE_HOST, _PORT, _NAME, _USER and _PASSWORD, each part
 * percent-encoded so a password may hold any character; plain DATABASE_URL is the fallback (local
 * development). The stand-in PostgreSQL has no TLS, so SSL is off (sslmode=disable also keeps Medusa's
 * per-module defaults, which turn SSL on for any host but localhost, from trying it).
 */
function databaseUrl(): string | undefined {
  const env = process.env
  if (!env.MEDUSA_DATABASE_HOST) {
    return env.DATABASE_URL || undefined
  }
  const part = (value: string | undefined) => encodeURIComponent(value ?? "")
  const host = env.MEDUSA_DATABASE_HOST.includes(":") ? `[${env.MEDUSA_DATABASE_HOST}]` : env.MEDUSA_DATABASE_HOST
  const auth = `${part(env.MEDUSA_DATABASE_USER)}:${part(env.MEDUSA_DATABASE_PASSWORD)}`
  const port = env.MEDUSA_DATABASE_PORT || "5432"
  return `postgres://${auth}@${host}:${port}/${part(env.MEDUSA_DATABASE_NAME || "medusa")}?sslmode=disable`
}

/** The store's public origin (MEDUSA_STORE_URL, no trailing slash) is the one CORS origin for all APIs. */
const storeUrl = (process.env.MEDUSA_STORE_URL || "http://localhost:9000").replace(/\/+$/, "")
const url = databaseUrl()

module.exports = defineConfig({
  projectConfig: {
    ...(url ? { databaseUrl: url } : {}),
    databaseDriverOptions: { connection: { ssl: false } },
    http: {
      storeCors: storeUrl,
      adminCors: storeUrl,
      authCors: storeUrl,
      // Unset in production: Medusa itself refuses to start (storestack-medusa checks first).
      jwtSecret: process.env.JWT_SECRET || undefined,
      cookieSecret: process.env.COOKIE_SECRET || undefined,
    },
  },
  modules: [
    {
      // Uploads (product images) go to /app/static, served at /static: the store's public URL, so
      // the links work from the browser. The image's /app is read-only: mount a volume there to upload.
      resolve: "@medusajs/medusa/file",
      options: {
        providers: [
          {
            resolve: "@medusajs/medusa/file-local",
            id: "local",
            options: { upload_dir: "static", backend_url: `${storeUrl}/static` },
          },
        ],
      },
    },
  ],
  admin: {
    disable: process.env.MEDUSA_ADMIN_DISABLE === "true",
    // Unset at build time: the dashboard calls its own origin, so one image serves every store.
    backendUrl: process.env.MEDUSA_BACKEND_URL || undefined,
  },
})
