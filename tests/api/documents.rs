//! Documents of a contract: a file is recognised by its content, never its name; it is stored
//! with its size and SHA-256, or not at all; it comes back whole or by byte range with headers
//! that keep a browser from running it; a collectivity uploads its own délibération only.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{BORDEAUX_METROPOLE, ContractFixture, FAUCIGNY, caf, draft_ctg, epci};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

const MIB: usize = 1024 * 1024;

async fn world(app: &TestApp) -> ContractFixture {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    draft_ctg(app, "74", &caf, &faucigny).await
}

/// Uploads `bytes` to the contract's documents with the query `query`, as `token`.
pub(crate) async fn upload(app: &TestApp, contract: &str, token: &str, query: &str, bytes: Vec<u8>) -> Answer {
    app.send(
        app.client
            .post(app.url(&format!("/v1/contracts/{contract}/documents?{query}")))
            .bearer_auth(token)
            // The announced type is not trusted: every upload here says it is a PDF.
            .header("content-type", "application/pdf")
            .body(bytes),
    )
    .await
}

/// A download: status, headers and the bytes as sent.
async fn download(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.url(path)).bearer_auth(admin_token());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn documents(app: &TestApp, contract: &str) -> Vec<Value> {
    let list = app.get(&format!("/v1/contracts/{contract}/documents"), &admin_token()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.body["items"].as_array().unwrap().clone()
}

pub(crate) fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut state = 0x2545_4446_u32;
    while bytes.len() < len {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((state >> 24) as u8);
    }
    bytes.truncate(len);
    bytes
}

fn zip_entry(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = b"PK\x03\x04".to_vec();
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let size = u32::try_from(data.len()).unwrap().to_le_bytes();
    out.extend_from_slice(&size);
    out.extend_from_slice(&size);
    out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    out
}

fn office(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut bytes = zip_entry(b"[Content_Types].xml", b"<Types/>");
    bytes.extend(zip_entry(first, b"<x/>"));
    bytes.extend(zip_entry(second, b"<x/>"));
    bytes
}

#[tokio::test]
async fn each_accepted_type_is_recognised_by_its_content_not_its_name() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let files: Vec<(&str, Vec<u8>, &str)> = vec![
        ("convention.pdf", pdf(300), "application/pdf"),
        ("plan.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), "image/png"),
        ("photo.jpg", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'], "image/jpeg"),
        (
            "cr.odt",
            zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.text"),
            "application/vnd.oasis.opendocument.text",
        ),
        (
            "budget.ods",
            zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            "rapport.docx",
            office(b"_rels/.rels", b"word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "tableau.xlsx",
            office(b"_rels/.rels", b"xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        // A PDF named as a Word file is still a PDF.
        ("renamed.docx", pdf(64), "application/pdf"),
    ];
    for (filename, bytes, media_type) in files {
        let answer =
            upload(&app, &contract.id, &admin_token(), &format!("kind=other&filename={filename}"), bytes).await;
        assert_eq!(answer.status, 201, "{filename}: {}", answer.text);
        assert_eq!(answer.body["media_type"], media_type, "{filename}");
        assert_eq!(answer.body["filename"], filename);
        assert_eq!(answer.header("etag"), Some("\"1\""));
        let location = answer.header("location").unwrap();
        assert_eq!(
            location,
            format!("/v1/contracts/{}/documents/{}", contract.id, answer.body["id"].as_str().unwrap())
        );
    }
    assert_eq!(documents(&app, &contract.id).await.len(), 8);

    // Text named .pdf and announced as a PDF, a ZIP that is no office document, a presentation:
    // refused, and nothing is stored.
    let presentation = zip_entry(b"mimetype", b"application/vnd.oasis.opendocument.presentation");
    for (filename, bytes) in [
        ("faux.pdf", b"Ceci n'est pas un PDF".to_vec()),
        ("archive.docx", zip_entry(b"notes.txt", b"hello")),
        ("slides.odt", presentation),
    ] {
        upload(&app, &contract.id, &admin_token(), &format!("kind=other&filename={filename}"), bytes)
            .await
            .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(documents(&app, &contract.id).await.len(), 8);
}

#[tokio::test]
async fn a_document_keeps_its_digest_and_size_and_comes_back_whole_or_by_range() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    // Over two chunks, so that ranges cross a chunk's end.
    let bytes = pdf(2 * MIB + 12_345);
    let digest = format!("{:x}", Sha256::digest(&bytes));
    let answer = upload(
        &app,
        &contract.id,
        &admin_token(),
        "kind=signed_convention&filename=Convention%20sign%C3%A9e%20%22CTG%22.pdf",
        bytes.clone(),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["size_bytes"], bytes.len());
    assert_eq!(answer.body["sha256"], digest.as_str());
    assert_eq!(answer.body["uploaded_by"], "user-admin");
    let path = answer.header("location").unwrap().to_owned();
    let read = app.get(&path, &admin_token()).await;
    assert_eq!((read.status, read.header("etag")), (200, Some("\"1\"")));
    assert_eq!(read.body, answer.body);

    let content = format!("{path}/content");
    let (status, headers, body) = download(&app, &content, &[]).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the content comes back as sent");
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("content-length"), bytes.len().to_string());
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("etag"), format!("\"{digest}\""));
    assert_eq!(header("accept-ranges"), "bytes");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"Convention sign_e _CTG_.pdf\"; filename*=UTF-8''Convention%20sign%C3%A9e%20%22CTG%22.pdf"
    );

    let size = bytes.len();
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=1048570-1048590", MIB - 6, MIB + 14),
        ("bytes=2097000-", 2_097_000, size - 1),
        ("bytes=-100", size - 100, size - 1),
        ("bytes=5-99999999", 5, size - 1),
    ] {
        let (status, headers, body) = download(&app, &content, &[("range", range)]).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(headers["content-range"], format!("bytes {start}-{end}/{size}").as_str(), "{range}");
        assert!(body == bytes[start..=end], "{range}");
    }
    let unsatisfiable = app
        .send(app.client.get(app.url(&content)).bearer_auth(admin_token()).header("range", format!("bytes={size}-")))
        .await;
    unsatisfiable.assert_problem(416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(unsatisfiable.header("content-range"), Some(format!("bytes */{size}").as_str()));
    // Several ranges: the whole file, as RFC 9110 allows.
    let (status, _, body) = download(&app, &content, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!((status, body.len()), (200, size));
    // A range on a stale If-Range: the whole file.
    let (status, _, _) = download(&app, &content, &[("range", "bytes=0-1"), ("if-range", "\"other\"")]).await;
    assert_eq!(status, 200);
    let (status, headers, body) = download(&app, &content, &[("if-none-match", &format!("\"{digest}\""))]).await;
    assert_eq!((status, body.len()), (304, 0));
    assert_eq!(headers["etag"], format!("\"{digest}\"").as_str());

    // The history and the feed keep the metadata, not the bytes.
    let history = app.get(&format!("/v1/contracts/{}/history", contract.id), &admin_token()).await;
    let entry = history.body["items"].as_array().unwrap().iter().find(|e| e["resource"] == "document").unwrap().clone();
    assert_eq!(entry["after"]["sha256"], digest.as_str());
    assert!(history.text.len() < 100_000, "no file in the history");
}

#[tokio::test]
async fn refused_uploads_store_nothing() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    upload(&app, &contract.id, &admin_token(), "kind=other&filename=vide.pdf", Vec::new())
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    // Announced over 20 MiB: refused from Content-Length.
    upload(&app, &contract.id, &admin_token(), "kind=other&filename=gros.pdf", pdf(20 * MIB + 1))
        .await
        .assert_problem(413, "PAYLOAD_TOO_LARGE");
    upload(&app, &contract.id, &admin_token(), "kind=nope&filename=a.pdf", pdf(10))
        .await
        .assert_problem(400, "INVALID_PARAMETER");
    upload(&app, &contract.id, &admin_token(), "kind=other&filename=a/b.pdf", pdf(10))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    upload(&app, &contract.id, &admin_token(), "kind=other", pdf(10)).await.assert_problem(400, "INVALID_PARAMETER");
    upload(&app, &contract.id, &admin_token(), "kind=other&filename=a.pdf&meeting_id=x", pdf(10))
        .await
        .assert_problem(400, "INVALID_PARAMETER");

    let host = app.address.trim_start_matches("http://").to_owned();
    let path = format!("/v1/contracts/{}/documents?kind=other&filename=flux.pdf", contract.id);
    // Sent in chunks with no Content-Length: counted as it comes, refused past 20 MiB.
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        admin_token()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let piece = pdf(MIB);
    for _ in 0..21 {
        let chunk = [format!("{:x}\r\n", piece.len()).into_bytes(), piece.clone(), b"\r\n".to_vec()].concat();
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Cut off midway: the client announces 100 000 bytes, sends 1 000 and stops.
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
        admin_token()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&pdf(1000)).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    // Whether the server still answers a client gone away or not, nothing is stored.
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert!(documents(&app, &contract.id).await.is_empty());
    let history = app.get(&format!("/v1/contracts/{}/history", contract.id), &admin_token()).await;
    assert!(history.body["items"].as_array().unwrap().iter().all(|e| e["resource"] != "document"));
}

#[tokio::test]
async fn a_collectivity_uploads_its_own_deliberation_and_reads_the_rest() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let faucigny = collectivity_token(&[FAUCIGNY]);
    let own = format!("kind=deliberation&filename=deliberation.pdf&party_id={}", contract.epci_party);
    let answer = upload(&app, &contract.id, &faucigny, &own, pdf(100)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["party_id"], contract.epci_party.as_str());
    let own_path = answer.header("location").unwrap().to_owned();

    // Other kinds, another party's délibération, a délibération of no party: 403, nothing stored.
    for query in [
        format!("kind=minutes&filename=cr.pdf&party_id={}", contract.epci_party),
        format!("kind=deliberation&filename=d.pdf&party_id={}", contract.caf_party),
        "kind=deliberation&filename=d.pdf".to_owned(),
    ] {
        upload(&app, &contract.id, &faucigny, &query, pdf(100)).await.assert_problem(403, "FORBIDDEN");
    }
    let convention =
        upload(&app, &contract.id, &admin_token(), "kind=signed_convention&filename=c.pdf", pdf(100)).await;
    assert_eq!(convention.status, 201);
    let convention_path = convention.header("location").unwrap().to_owned();
    // Everyone who reaches the contract reads every document; the collectivity removes only its own.
    let read = app.get(&format!("{convention_path}/content"), &faucigny).await;
    assert_eq!(read.status, 200);
    app.delete_with(&convention_path, &faucigny, "\"1\"").await.assert_problem(403, "FORBIDDEN");
    // Turning its délibération into minutes is refused too.
    app.patch_json(&own_path, &faucigny, "\"1\"", &json!({"kind": "minutes"})).await.assert_problem(403, "FORBIDDEN");
    let renamed = app.patch_json(&own_path, &faucigny, "\"1\"", &json!({"filename": "delib-2024.pdf"})).await;
    assert_eq!((renamed.status, renamed.header("etag")), (200, Some("\"2\"")), "{}", renamed.text);
    app.delete_with(&own_path, &faucigny, "\"1\"").await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(app.delete_with(&own_path, &faucigny, "\"2\"").await.status, 204);
    assert_eq!(app.get(&format!("{own_path}/content"), &admin_token()).await.status, 404);

    // Another département's agent, another collectivity: 404 as for an unknown contract.
    let gironde = caf_agent_token(&["33"]);
    upload(&app, &contract.id, &gironde, "kind=other&filename=x.pdf", pdf(10)).await.assert_problem(404, "NOT_FOUND");
    app.get(&format!("{convention_path}/content"), &gironde).await.assert_problem(404, "NOT_FOUND");
    app.get(&convention_path, &collectivity_token(&[BORDEAUX_METROPOLE])).await.assert_problem(404, "NOT_FOUND");

    // A link must name something of this contract.
    let elsewhere = {
        let caf33 = caf(&app, "33").await;
        let bordeaux = epci(&app, BORDEAUX_METROPOLE).await;
        draft_ctg(&app, "33", &caf33, &bordeaux).await
    };
    let answer = upload(
        &app,
        &contract.id,
        &admin_token(),
        &format!("kind=deliberation&filename=d.pdf&party_id={}&amendment_id={}", elsewhere.epci_party, elsewhere.id),
        pdf(10),
    )
    .await;
    let problem = answer.assert_problem(422, "VALIDATION_FAILED");
    let parameters: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["parameter"].as_str().unwrap()).collect();
    assert_eq!(parameters, ["party_id", "amendment_id"]);
    let answer =
        app.patch_json(&convention_path, &admin_token(), "\"1\"", &json!({"party_id": elsewhere.epci_party})).await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(documents(&app, &contract.id).await.len(), 1);
}

#[tokio::test]
async fn the_pilot_of_an_action_files_what_it_reports_on_it() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let path = format!("/v1/contracts/{}", contract.id);
    let piloted = app
        .create(
            &format!("{path}/actions"),
            &json!({"code": "A1", "title": "Créer un RPE", "pilot_organisation_id": contract.epci_organisation}),
        )
        .await;
    let unpiloted =
        app.create(&format!("{path}/actions"), &json!({"code": "A2", "title": "Étudier les besoins"})).await;
    let faucigny = collectivity_token(&[FAUCIGNY]);
    let report =
        format!("kind=supporting_evidence&filename=bilan-rpe.pdf&action_id={}", piloted["id"].as_str().unwrap());
    let answer = upload(&app, &contract.id, &faucigny, &report, pdf(300)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["action_id"], piloted["id"]);
    let filed = answer.header("location").unwrap().to_owned();
    let linked = app.patch_json(&filed, &faucigny, "\"1\"", &json!({"party_id": contract.epci_party})).await;
    linked.assert_problem(403, "FORBIDDEN");

    // Not what the signatories sign, not under an action it does not pilot, not linked besides
    // to what the CAF alone links (its own party here): 403, nothing stored.
    for query in [
        format!("kind=signed_convention&filename=c.pdf&action_id={}", piloted["id"].as_str().unwrap()),
        format!("kind=supporting_evidence&filename=b.pdf&action_id={}", unpiloted["id"].as_str().unwrap()),
        format!(
            "kind=supporting_evidence&filename=b.pdf&action_id={}&party_id={}",
            piloted["id"].as_str().unwrap(),
            contract.epci_party
        ),
    ] {
        upload(&app, &contract.id, &faucigny, &query, pdf(100)).await.assert_problem(403, "FORBIDDEN");
    }
    // An action of another contract is no link.
    let unknown = format!("kind=other&filename=o.pdf&action_id={}", uuid::Uuid::new_v4());
    let answer = upload(&app, &contract.id, &admin_token(), &unknown, pdf(100)).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["parameter"], "action_id");
    assert_eq!(documents(&app, &contract.id).await.len(), 1);

    // The action keeps its documents: deleting it is refused while they are linked.
    let action_path = format!("{path}/actions/{}", piloted["id"].as_str().unwrap());
    let etag = app.etag(&action_path).await;
    app.delete_with(&action_path, &admin_token(), &etag).await.assert_problem(409, "CONFLICT");
}

#[tokio::test]
async fn documents_come_in_pages_oldest_first() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let mut uploaded = Vec::new();
    for n in 0..5 {
        let answer =
            upload(&app, &contract.id, &admin_token(), &format!("kind=other&filename=piece-{n}.pdf"), pdf(50 + n))
                .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        uploaded.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = format!("/v1/contracts/{}/documents?page_size=2", contract.id);
    loop {
        let page = app.get(&path, &admin_token()).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{}", page.text);
        seen.extend(items.iter().map(|item| item["id"].as_str().unwrap().to_owned()));
        let Some(token) = page.body["next_page_token"].as_str() else { break };
        path = format!("/v1/contracts/{}/documents?page_size=2&page_token={token}", contract.id);
    }
    assert_eq!(seen, uploaded);
    // A page token is bound to its list: another contract's list refuses it.
    let first = app.get(&format!("/v1/contracts/{}/documents?page_size=2", contract.id), &admin_token()).await;
    let token = first.body["next_page_token"].as_str().unwrap();
    let caf33 = caf(&app, "33").await;
    let bordeaux = epci(&app, BORDEAUX_METROPOLE).await;
    let elsewhere = draft_ctg(&app, "33", &caf33, &bordeaux).await;
    let answer = app.get(&format!("/v1/contracts/{}/documents?page_token={token}", elsewhere.id), &admin_token()).await;
    answer.assert_problem(400, "INVALID_PAGE_TOKEN");
}

#[tokio::test]
async fn a_retried_upload_with_its_key_is_stored_once() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let send = |bytes: Vec<u8>| {
        app.send(
            app.client
                .post(app.url(&format!("/v1/contracts/{}/documents?kind=minutes&filename=cr.pdf", contract.id)))
                .bearer_auth(admin_token())
                .header("idempotency-key", "copil-2025-03")
                .body(bytes),
        )
    };
    let first = send(pdf(5000)).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = send(pdf(5000)).await;
    assert_eq!((retry.status, retry.header("idempotent-replayed")), (201, Some("true")));
    assert_eq!(retry.body, first.body);
    send(pdf(5001)).await.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(documents(&app, &contract.id).await.len(), 1);
}

#[tokio::test]
async fn minutes_and_reports_belong_to_a_meeting_or_an_evaluation_of_the_same_contract() {
    let app = spawn_app().await;
    let contract = world(&app).await;
    let meeting = app
        .create(
            &format!("/v1/contracts/{}/meetings", contract.id),
            &json!({"kind": "copil", "held_on": "2024-06-12", "title": "COPIL de lancement",
                    "present": [contract.epci_organisation], "decisions": ["Lancer le diagnostic"]}),
        )
        .await;
    let meeting_id = meeting["id"].as_str().unwrap();
    let minutes = upload(
        &app,
        &contract.id,
        &admin_token(),
        &format!("kind=minutes&filename=pv.pdf&meeting_id={meeting_id}"),
        pdf(100),
    )
    .await;
    assert_eq!(minutes.status, 201, "{}", minutes.text);
    assert_eq!(minutes.body["meeting_id"], meeting_id);
    // A meeting of no contract, or of another one, is not this contract's.
    let stranger = format!("kind=evaluation_report&filename=r.pdf&evaluation_id={}", uuid::Uuid::new_v4());
    let refused = upload(&app, &contract.id, &admin_token(), &stranger, pdf(100)).await;
    let problem = refused.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(problem["errors"][0]["code"], "NOT_OF_CONTRACT");
    // The meeting keeps its minutes: it cannot go while they point at it.
    let path = format!("/v1/contracts/{}/meetings/{meeting_id}", contract.id);
    let etag = app.etag(&path).await;
    let refused = app.delete_with(&path, &admin_token(), &etag).await;
    let detail = refused.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with("1 document(s) are linked"), "{detail}");
}
