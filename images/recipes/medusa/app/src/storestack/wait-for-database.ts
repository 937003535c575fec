// Waits until PostgreSQL accepts our credentials: `node src/storestack/wait-for-database.js` (run by
// `storestack-medusa setup` before `medusa db:migrate`). Reads the same MEDUSA_DATABASE_* variables as
// medusa-config.ts; prints a line every few seconds while waiting and never prints the password.
// Exit 0 once `SELECT 1` works, 1 after MEDUSA_DATABASE_WAIT_SECONDS (default 120).
import { Client } from "pg"

const env = process.env
const target = `${env.MEDUSA_DATABASE_HOST}:${env.MEDUSA_DATABASE_PORT || "5432"}/${env.MEDUSA_DATABASE_NAME || "medusa"}`

function say(message: string): void {
  process.stderr.write(`${new Date().toISOString()} [wait-for-database] ${message}\n`)
}

/** null when the database answered, else why not (an error code and pg's message: no secrets). */
async function attempt(): Promise<string | null> {
  const client = new Client({
    host: env.MEDUSA_DATABASE_HOST,
    port: Number(env.MEDUSA_DATABASE_PORT || 5432),
    database: env.MEDUSA_DATABASE_NAME || "medusa",
    user: env.MEDUSA_DATABASE_USER,
    password: env.MEDUSA_DATABASE_PASSWORD ?? "",
    ssl: false,
    connectionTimeoutMillis: 5000,
  })
  client.on("error", () => undefined)
  try {
    await client.connect()
    await client.query("SELECT 1")
    return null
  } catch (error) {
    const e = error as { code?: string; message?: string }
    return [e.code, e.message].filter(Boolean).join(": ") || String(error)
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function main(): Promise<number> {
  if (!env.MEDUSA_DATABASE_HOST) {
    say("MEDUSA_DATABASE_HOST is not set")
    return 1
  }
  const limit = Number(env.MEDUSA_DATABASE_WAIT_SECONDS || 120)
  const started = Date.now()
  let lastSaid = 0
  for (;;) {
    const problem = await attempt()
    const elapsed = (Date.now() - started) / 1000
    if (problem === null) {
      say(`database ${target} is ready (after ${elapsed.toFixed(1)}s)`)
      return 0
    }
    if (elapsed >= limit) {
      say(`gave up on database ${target} after ${limit}s: ${problem}`)
      return 1
    }
    if (lastSaid === 0 || Date.now() - lastSaid >= 5000) {
      say(`waiting for database ${target} (${elapsed.toFixed(0)}s of ${limit}s): ${problem}`)
      lastSaid = Date.now()
    }
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      say(`failed: ${error instanceof Error ? error.message : String(error)}`)
      process.exit(1)
    }
  )
}
