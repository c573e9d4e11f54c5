//! Authentication as an attacker would probe it: every malformed, forged, stale or misdirected
//! token is a 401 problem with `WWW-Authenticate: Bearer`, and the valid ones get in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, ISSUER, SECRET, spawn_app};

const PATH: &str = "/v1/epcis/200000172";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn valid_claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "role": "admin", "exp": now() + 600})
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn hs256(claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn rs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    encode(&header, claims, &EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap()).unwrap()
}

fn es256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    encode(&header, claims, &EncodingKey::from_ec_pem(&fixture("ec_private.pem")).unwrap()).unwrap()
}

/// A token put together by hand, signed or not: what no library would produce.
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn hmac_sha256(key: &[u8], message: &str) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Every way a token can be wrong, as the `Authorization` header value that carries it.
fn bad_authorizations() -> Vec<(&'static str, String)> {
    let valid = hs256(&valid_claims());
    let mut cases = vec![
        ("wrong scheme", format!("Basic {valid}")),
        ("scheme without token", "Bearer ".to_owned()),
        ("token without scheme", valid.clone()),
        ("malformed token", "Bearer not.a.jwt".to_owned()),
        ("two segments", "Bearer abc.def".to_owned()),
        ("garbage", "Bearer %%%%".to_owned()),
    ];

    let unsigned = raw_token(&json!({"alg": "none", "typ": "JWT"}), &valid_claims(), b"");
    cases.push(("alg none", format!("Bearer {unsigned}")));
    let unsigned = raw_token(&json!({"alg": "None", "typ": "JWT"}), &valid_claims(), b"");
    cases.push(("alg None", format!("Bearer {unsigned}")));

    // The classic key-confusion attack: HS256 keyed with the server's own RSA public key.
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(valid_claims().to_string())
    );
    let signature = hmac_sha256(&fixture("rsa_public.pem"), &signing_input);
    cases.push((
        "HS256 signed with the RSA public key",
        format!("Bearer {signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
    ));

    let (head, rest) = valid.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let elevated = with(with(valid_claims(), "role", json!("admin")), "sub", json!("someone-else"));
    cases.push((
        "tampered payload",
        format!("Bearer {head}.{}.{signature}", URL_SAFE_NO_PAD.encode(elevated.to_string())),
    ));
    cases.push((
        "signed with another secret",
        format!(
            "Bearer {}",
            encode(
                &Header::new(Algorithm::HS256),
                &valid_claims(),
                &EncodingKey::from_secret(b"another-secret-of-32-bytes-or-more!!")
            )
            .unwrap()
        ),
    ));

    cases.extend(
        [
            ("expired beyond the leeway", hs256(&with(valid_claims(), "exp", json!(now() - 60)))),
            ("nbf beyond the leeway", hs256(&with(valid_claims(), "nbf", json!(now() + 60)))),
            ("wrong iss", hs256(&with(valid_claims(), "iss", json!("https://evil.test")))),
            ("wrong aud", hs256(&with(valid_claims(), "aud", json!("another-api")))),
            ("wrong aud list", hs256(&with(valid_claims(), "aud", json!(["another-api", "third"])))),
            ("no iss", hs256(&without(valid_claims(), "iss"))),
            ("no aud", hs256(&without(valid_claims(), "aud"))),
            ("no exp", hs256(&without(valid_claims(), "exp"))),
            ("no sub", hs256(&without(valid_claims(), "sub"))),
            ("no role", hs256(&without(valid_claims(), "role"))),
            ("empty sub", hs256(&with(valid_claims(), "sub", json!("")))),
            ("exp as a string", hs256(&with(valid_claims(), "exp", json!((now() + 600).to_string())))),
            ("unknown role", hs256(&with(valid_claims(), "role", json!("superuser")))),
            ("role of the wrong type", hs256(&with(valid_claims(), "role", json!(["admin"])))),
            ("caf_agent without departments", hs256(&with(valid_claims(), "role", json!("caf_agent")))),
            (
                "caf_agent with empty departments",
                hs256(&with(with(valid_claims(), "role", json!("caf_agent")), "departments", json!([]))),
            ),
            (
                "caf_agent with a département without CAF",
                hs256(&with(with(valid_claims(), "role", json!("caf_agent")), "departments", json!(["975"]))),
            ),
            ("integration without departments", hs256(&with(valid_claims(), "role", json!("integration")))),
            ("collectivity without sirens", hs256(&with(valid_claims(), "role", json!("collectivity")))),
            (
                "collectivity with an invalid SIREN",
                hs256(&with(with(valid_claims(), "role", json!("collectivity")), "sirens", json!(["200000173"]))),
            ),
            ("unknown kid", rs256("rsa-unknown", &valid_claims())),
            ("RS256 token naming the EC key", rs256("ec-1", &valid_claims())),
            ("ES256 token naming the RSA key", es256("rsa-1", &valid_claims())),
            ("RS256 token without kid", {
                let header = Header::new(Algorithm::RS256);
                encode(&header, &valid_claims(), &EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap())
                    .unwrap()
            }),
        ]
        .into_iter()
        .map(|(name, token)| (name, format!("Bearer {token}"))),
    );

    cases.push(("oversized header", format!("Bearer {}", "a".repeat(9 * 1024))));
    cases
}

#[tokio::test]
async fn every_bad_token_is_refused_with_401() {
    let app = spawn_app().await;
    for (case, authorization) in bad_authorizations() {
        let answer = app.send(app.client.get(app.url(PATH)).header("Authorization", authorization)).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.text);
        answer.assert_problem(401, "UNAUTHENTICATED");
        assert!(answer.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{case}");
    }
}

#[tokio::test]
async fn no_token_is_401_with_www_authenticate() {
    let app = spawn_app().await;
    let answer = app.get_anonymous(PATH).await;
    answer.assert_problem(401, "UNAUTHENTICATED");
    assert!(answer.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn valid_tokens_of_every_kind_of_key_and_role_get_in() {
    let app = spawn_app().await;
    let tokens = [
        ("HS256", hs256(&valid_claims())),
        ("RS256", rs256("rsa-1", &valid_claims())),
        ("ES256", es256("ec-1", &valid_claims())),
        ("aud as a list", hs256(&with(valid_claims(), "aud", json!(["other", AUDIENCE])))),
        ("expired within the leeway", hs256(&with(valid_claims(), "exp", json!(now() - 20)))),
        ("nbf within the leeway", hs256(&with(valid_claims(), "nbf", json!(now() + 20)))),
        ("nbf in the past", hs256(&with(valid_claims(), "nbf", json!(now() - 100)))),
        (
            "caf_agent",
            hs256(&with(with(valid_claims(), "role", json!("caf_agent")), "departments", json!(["74", "2A"]))),
        ),
        ("integration", hs256(&with(with(valid_claims(), "role", json!("integration")), "departments", json!(["33"])))),
        (
            "collectivity",
            hs256(&with(with(valid_claims(), "role", json!("collectivity")), "sirens", json!(["200000172"]))),
        ),
        ("extra claims are ignored", hs256(&with(valid_claims(), "name", json!("Jeanne")))),
    ];
    for (case, token) in tokens {
        let answer = app.get(PATH, &token).await;
        assert_eq!(answer.status, 200, "{case}: {}", answer.text);
    }
}
