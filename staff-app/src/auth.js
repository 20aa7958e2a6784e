// Staff sign-in against the stack's Cognito user pool with SRP (the password never leaves the device), the
// first-time new password, TOTP two-step sign-in (set up on first use when the pool requires it), a session
// that survives a reload (tokens in localStorage) and refreshes itself, and sign-out.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from "amazon-cognito-identity-js";

let pool;
let pending; // the CognitoUser in the middle of a challenge

export function configureAuth(config) {
  pool = new CognitoUserPool({
    UserPoolId: config.userPoolId,
    ClientId: config.userPoolClientId,
    // Set only where Cognito is reached through another address (the local mode); otherwise the regional endpoint.
    endpoint: config.cognitoEndpoint || undefined,
  });
}

function challengeCallbacks(user, resolve, reject) {
  return {
    onSuccess: () => resolve({ step: "done" }),
    onFailure: (error) => reject(error),
    newPasswordRequired: () => {
      pending = user;
      resolve({ step: "new-password" });
    },
    mfaSetup: () => {
      pending = user;
      user.associateSoftwareToken({
        associateSecretCode: (secret) => resolve({ step: "mfa-setup", secret, email: user.getUsername() }),
        onFailure: reject,
      });
    },
    totpRequired: () => {
      pending = user;
      resolve({ step: "totp" });
    },
  };
}

export function signIn(email, password) {
  const user = new CognitoUser({ Username: email.trim(), Pool: pool });
  return new Promise((resolve, reject) => {
    user.authenticateUser(
      new AuthenticationDetails({ Username: email.trim(), Password: password }),
      challengeCallbacks(user, resolve, reject),
    );
  });
}

export function setNewPassword(password) {
  const user = pending;
  return new Promise((resolve, reject) =>
    user.completeNewPasswordChallenge(password, {}, challengeCallbacks(user, resolve, reject)),
  );
}

export function confirmMfaSetup(code) {
  const user = pending;
  return new Promise((resolve, reject) =>
    user.verifySoftwareToken(code.trim(), "Greeter staff app", {
      onSuccess: () => resolve({ step: "done" }),
      onFailure: reject,
    }),
  );
}

export function sendTotp(code) {
  const user = pending;
  return new Promise((resolve, reject) =>
    user.sendMFACode(code.trim(), challengeCallbacks(user, resolve, reject), "SOFTWARE_TOKEN_MFA"),
  );
}

/** The current session's ID token, refreshed with the refresh token when it has expired; null when signed out. */
export function idToken() {
  const user = pool && pool.getCurrentUser();
  if (!user) return Promise.resolve(null);
  return new Promise((resolve) =>
    user.getSession((error, session) => resolve(error || !session || !session.isValid() ? null : session.getIdToken())),
  );
}

export async function staffEmail() {
  const token = await idToken();
  return token ? token.payload.email || token.payload["cognito:username"] : null;
}

export function signOut() {
  const user = pool && pool.getCurrentUser();
  if (!user) return Promise.resolve();
  // Revokes the refresh token at Cognito as well; the local session goes whatever the network says (a
  // tablet that is offline still signs out at once).
  return new Promise((resolve) => {
    const finish = () => {
      user.signOut();
      resolve();
    };
    const timer = setTimeout(finish, 3000);
    user.signOut(() => {
      clearTimeout(timer);
      finish();
    });
  });
}

/** A plain sentence for Cognito's errors. */
export function authSentence(error) {
  const code = error && (error.code || error.name);
  switch (code) {
    case "NotAuthorizedException":
      return "Wrong email or password.";
    case "UserNotFoundException":
      return "Wrong email or password.";
    case "InvalidPasswordException":
      return "That password is not allowed: at least 12 characters with upper- and lower-case letters and a digit.";
    case "CodeMismatchException":
    case "EnableSoftwareTokenMFAException":
      return "That code is not right. Type the 6 digits your authenticator app shows now.";
    case "ExpiredCodeException":
      return "That code has expired. Type the new one your app shows.";
    case "PasswordResetRequiredException":
      return "Your password must be reset. Ask a manager.";
    case "TooManyRequestsException":
    case "LimitExceededException":
      return "Too many attempts. Wait a minute and try again.";
    case "NetworkError":
      return "No connection to the sign-in service. Check the Wi-Fi and try again.";
    default:
      return "Sign-in failed. Try again, or ask a manager to check your account.";
  }
}
