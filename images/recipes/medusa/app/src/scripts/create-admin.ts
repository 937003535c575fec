// The store's admin user: `medusa exec ./src/scripts/create-admin.js`, run by `storestack-medusa
// setup` after the seed. Email MEDUSA_ADMIN_EMAIL, password MEDUSA_ADMIN_PASSWORD, both read from the
// environment (never argv: `medusa user -p` would put the password there) and never printed.
// Converges: a missing user or emailpass identity is made, an identity whose password differs gets
// the given one (a rotated Secret), and the identity is linked to the user; when all is already so,
// nothing changes.
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, Modules } from "@medusajs/framework/utils"
import { createUserAccountWorkflow } from "@medusajs/medusa/core-flows"

const PROVIDER = "emailpass"

export default async function createAdmin({ container }: ExecArgs): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const auth = container.resolve(Modules.AUTH)
  const users = container.resolve(Modules.USER)

  const email = (process.env.MEDUSA_ADMIN_EMAIL || "").trim()
  const password = process.env.MEDUSA_ADMIN_PASSWORD || ""
  if (!email || !password) {
    throw new Error("MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD must both be set")
  }
  const changes: string[] = []
  const changed = (what: string) => {
    changes.push(what)
    logger.info(`storestack admin: ${what}`)
  }

  // The emailpass identity (shared by every actor type with this email) and its password.
  let authIdentityId: string
  const [providerIdentity] = await auth.listProviderIdentities({ entity_id: email, provider: PROVIDER })
  if (!providerIdentity) {
    const registered = await auth.register(PROVIDER, { body: { email, password } })
    if (!registered.success || !registered.authIdentity) {
      throw new Error(`registering the ${PROVIDER} identity of ${email} failed: ${registered.error}`)
    }
    authIdentityId = registered.authIdentity.id
    changed(`created the ${PROVIDER} identity of ${email}`)
  } else {
    authIdentityId = providerIdentity.auth_identity_id as string
    const check = await auth.authenticate(PROVIDER, { body: { email, password } })
    if (!check.success) {
      const updated = await auth.updateProvider(PROVIDER, { entity_id: email, password })
      if (!updated.success) {
        throw new Error(`setting the password of ${email} failed: ${updated.error}`)
      }
      changed(`set the password of ${email}`)
    }
  }

  // The user, linked to the identity (app_metadata.user_id).
  const identity = await auth.retrieveAuthIdentity(authIdentityId)
  const appMetadata = { ...(identity.app_metadata ?? {}) }
  const [user] = await users.listUsers({ email })
  if (user) {
    if (appMetadata.user_id !== user.id) {
      await auth.updateAuthIdentities({ id: authIdentityId, app_metadata: { ...appMetadata, user_id: user.id } })
      changed(`linked user ${user.id} to the ${PROVIDER} identity`)
    }
  } else {
    if (appMetadata.user_id) {
      // It points at a user that is gone: drop the stale link so the workflow can set a new one.
      delete appMetadata.user_id
      await auth.updateAuthIdentities({ id: authIdentityId, app_metadata: appMetadata })
    }
    const { result } = await createUserAccountWorkflow(container).run({
      input: { authIdentityId, userData: { email } },
    })
    changed(`created user ${result.id} (${email})`)
  }
  logger.info(`storestack admin: ${changes.length ? "done" : `${email} already set up, nothing to do`}`)
}
