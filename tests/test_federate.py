"""SERVICE and LOAD reach configured peers only, however the query spells them: the check reads every
place where the engine could read a call (its keyword, space, IRI and name rules, not a tokenizer of
our own), resolves targets as the engine does, and costs linear time. The regressions below are real
calls: each is run on the engine against a loopback canary, which must be reached, and the check
must refuse it. tests/test_service_fuzz.py does the same on generated queries."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from bench.service_check import shapes, uncapped
from ecgraph.query import federate
from ecgraph.query.federate import PeerPolicy, QueryRefused, Scan, inspect
from tests.servers import Canary

PEERS = PeerPolicy(["http://peer.example:8080/sparql"])


@pytest.fixture(scope="module")
def canary():
    c = Canary()
    yield c
    c.close()


def engine_calls(text: str, canary, update: bool = False, base_iri: str | None = None) -> bool:
    """Run ``text`` on an empty in-memory store: did it reach the canary?"""
    before = len(canary.hits)
    options = {"base_iri": base_iri} if base_iri else {}
    try:
        if update:
            ox.Store().update(text, **options)
        else:
            answer = ox.Store().query(text, **options)
            if not isinstance(answer, ox.QueryBoolean):
                list(answer)
    except (OSError, RuntimeError, ValueError):
        pass  # the canary's answer need not make sense; being asked is what counts
    return len(canary.hits) > before


# Each was run by the engine, and let through by the tokenizer this check replaces (commit eda9ea9).
REGRESSIONS = {
    "a comparison with a quote hid the rest of the line": "SELECT * WHERE { FILTER(?o <'>') SERVICE <{u}/x> { } } #'",
    "SERVICE glued to an empty-prefix name": "PREFIX : <{u}/> SELECT * WHERE { SERVICE:x {} }",
    "SERVICE glued to a prefixed name": "PREFIX ex: <{u}/> SELECT * WHERE { SERVICEex:y{} }",
    "SERVICE glued to SILENT glued to an IRI": "SELECT * WHERE { SERVICESILENT<{u}/>{} }",
    "a literal glued to SERVICE": "SELECT * WHERE { ?s ?p trueSERVICE<{u}/>{} }",
    "a relative target after a glued BASE": "BASE<{u}/>SELECT * WHERE { SERVICESILENT<rel>{} }",
}


@pytest.mark.parametrize("name", REGRESSIONS)
def test_a_call_the_old_tokenizer_missed_is_refused(name, canary):
    text = REGRESSIONS[name].replace("{u}", canary.url)
    assert engine_calls(text, canary), "not a real call: the regression proves nothing"
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect(text))
    assert f"<{canary.url}/" in str(refused.value) and "peer.example" in str(refused.value)


# Real calls, each refused: spellings of keywords, space, targets and bases.
CALLS = [
    "SELECT * WHERE { SERVICE <{u}/> { ?s ?p ?o } }",
    "select * where { service <{u}/> { ?s ?p ?o } }",
    "SELECT * WHERE { SeRvIcE SILENT <{u}/> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE<{u}/>{} }",
    "SELECT * WHERE { ?s ?p 1SERVICE<{u}/>{} }",
    "SELECT * WHERE { SERVICE#{ }\n<{u}/> {} }",
    "SELECT * WHERE { SERVICE #a\r#b\n\t<{u}/> #c\n{} }",
    "BASE <{u}/a/> SELECT * WHERE { SERVICE <b> {} }",
    "BASE <http://peer.example:8080/sparql/> SELECT * WHERE { SERVICE <//{h}/c> {} }",
    "BASE <http://example.org/> BASE <{u}/> SELECT * WHERE { SERVICE <./x> {} }",
    "BASE <{u}/> PREFIX e: <q/> SELECT * WHERE { SERVICE e:x {} }",
    "PREFIX c: <{u}/> SELECT * WHERE { SERVICE c:sparql { ?s ?p ?o } }",
    "PREFIXp:<{u}/> SELECT * WHERE { SERVICE p:a..b: {} }",
    "PREFIX p: <{u}/> SELECT * WHERE { SERVICE p:a\\.b\\~c%41 {} }",
    "PREFIX SILENT: <{u}/> SELECT * WHERE { SERVICE SILENT:x {} }",
    "PREFIX : <{u}/> SELECT * WHERE { SERVICE SILENT:x {} }",
    "SELECT * WHERE { SERVICE <{e}> {} }",
    "SELECT * WHERE { SERVICE <http:\\u+02F\\u+02F{h}/plus> {} }",
    "PREFIX p: <http:\\U+000002F/{h}/> SELECT * WHERE { SERVICE p:x {} }",
    "SELECT * WHERE { ?a ?b ?c OPTIONAL { { SELECT * WHERE { SERVICE <{u}/> {} } } } }",
    "ASK { FILTER EXISTS { ?x ?y ?z } { } UNION { SERVICE <{u}/> {} } }",
]


@pytest.mark.parametrize("query", CALLS)
def test_every_spelling_of_a_call_is_refused(query, canary):
    escaped = "".join(f"\\u{ord(c):04X}" for c in canary.url)
    text = query.replace("{u}", canary.url).replace("{h}", canary.url[len("http://"):]).replace("{e}", escaped)
    assert engine_calls(text, canary), "not a real call"
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(text))


def test_a_relative_target_is_resolved_against_the_base_the_engine_is_given(canary):
    text = "SELECT * WHERE { SERVICE <rel> {} }"
    assert engine_calls(text, canary, base_iri=canary.url + "/")
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect(text, base_iri=canary.url + "/"))
    assert f"resolved against the base <{canary.url}/>" in str(refused.value)
    PEERS.check(inspect(text))  # without a base the engine rejects it: nothing to refuse


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * { SERVICE SILENT $e { } }",
    "SELECT * { ?s ?p ?o } # harmless\n; SELECT * { SERVICE <http://127.0.0.1/> {} }",
    "SELECT * { SERVICE <http://peer.example:8080@127.0.0.1/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <http://peer.example:8081/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <https://peer.example:8080/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <http://peer.example:8080/sparql/../admin> { } }",
    "SELECT * { SERVICE <http://peer.example:8080/sparql\\u002F..\\u002Fadmin> { } }",
    "SELECT * { SERVICE <http://user@peer.example:8080/sparql> { } }",
])
def test_service_to_anything_but_a_peer_is_refused(query):
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(query))


@pytest.mark.parametrize("query", [
    "SELECT * { ?s ?p '''it's SERVICE <http://127.0.0.1/>''' }",
    "SELECT * { ?s <http://example.org/SERVICE> ?o }  # SERVICE <http://127.0.0.1/>",
    "PREFIX service: <http://example.org/> SELECT ?service { ?service service:x ?o }",
    "SELECT ?service ?x { ?service ?p ?x }",
    "SELECT * { ?s ?p ?o } # SERVICE ?x, see?",
    "SELECT * { SERVICE <http://peer.example:8080/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <HTTP://PEER.EXAMPLE:8080/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <http://peer.example:8080/sparql/sub?default-graph-uri=urn:x> { } }",
    "PREFIX p: <http://peer.example:8080/> SELECT * { SERVICE p:sparql { } }",
    "BASE <http://peer.example:8080/> SELECT * { SERVICE <sparql> { } }",
    "BASE <http://127.0.0.1:9/> BASE <http://peer.example:8080/> SELECT * { SERVICE <sparql> { } }",
    "PREFIX ex: <http://example.org/> SELECT * { ?s ex:service ?o . ?o ex:p <http://127.0.0.1:9/> }",
    "SELECT * { FILTER(?o <'>') SERVICE <http://peer.example:8080/sparql> { } } #'",
])
def test_keywords_in_strings_iris_comments_names_and_peers_pass(query):
    PEERS.check(inspect(query))


@pytest.mark.parametrize("update", [
    "LOAD <http://127.0.0.1:9/x.ttl>",
    "load silent <http://127.0.0.1:9/x.ttl> INTO GRAPH <http://g>",
    "PREFIX x: <http://127.0.0.1:9/> LOAD x:doc",
    "PREFIX x: <http://127.0.0.1:9/> LOADx:doc",
    "BASE <http://127.0.0.1:9/> LOAD SILENT<doc>",
    "INSERT DATA { <a:b> <a:c> <a:d> } ; LOAD <http://10.0.0.1/x.ttl>",
    "INSERT DATA { <a:b> <a:c> <a:d> } ;#x\n\tLOAD <http://10.0.0.1/x.ttl>",
    "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
])
def test_load_from_anything_but_a_peer_is_refused(update):
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(update))


def test_load_is_read_only_where_an_update_operation_can_start():
    """A LOAD starts an update operation (after the prologue or a ';'): 'payload' in data is none."""
    harmless = "PREFIX ex: <urn:x:> INSERT DATA { ex:s ex:payload <http://127.0.0.1:9/> }"
    PEERS.check(inspect(harmless))
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(harmless + " ; LOAD <http://127.0.0.1:9/>"))
    # and in a query, LOAD means nothing to the engine
    PEERS.check(inspect("SELECT * { ?s ?p ?o } # LOAD <http://127.0.0.1:9/>"))


@pytest.mark.parametrize("text,form", [
    ("SELECT * { ?s ?p ?o }", "SELECT"),
    ("PREFIX ex: <http://e/> CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("BASE <http://e/> DESCRIBE <x>", "DESCRIBE"),
    ("ask { ?s ?p ?o }", "ASK"),
    ("# a comment\nPREFIX:<http://e/>BASE<http://f/>SELECT*{}", "SELECT"),
    ("INSERT DATA { <a:b> <a:c> <a:d> }", "UPDATE"),
    ("PREFIX ex: <http://e/> DELETE WHERE { ?s ex:p ?o }", "UPDATE"),
    ("DROP GRAPH <http://g>", "UPDATE"),
])
def test_the_form_is_recognised(text, form):
    assert inspect(text).form == form


def test_a_text_with_no_form_is_a_400():
    with pytest.raises(QueryRefused) as refused:
        inspect("PREFIX ex: <http://e/> FOO { }")
    assert refused.value.status == 400 and "line 1, column 24" in str(refused.value)


def test_no_peers_means_no_service():
    with pytest.raises(QueryRefused) as err:
        PeerPolicy([]).check(inspect("SELECT * { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"))
    assert "none configured" in str(err.value) and err.value.status == 403


def test_a_refusal_says_what_where_and_how_it_was_read():
    text = "PREFIX ex: <http://127.0.0.1:9/>\nSELECT * WHERE {\n  SERVICE ex:private { ?s ?p ?o }\n}"
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect(text))
    message = str(refused.value)
    assert "SERVICE ex:private, which is <http://127.0.0.1:9/private>" in message
    assert "with ex: <http://127.0.0.1:9/>" in message and "line 3, column 3" in message
    assert "only calls its configured peers (http://peer.example:8080/sparql)" in message


def test_a_name_ending_in_service_is_a_false_positive_with_a_way_out():
    """The price of reading without context: a triple whose predicate ends in 'service', followed by
    an IRI and a group, reads like a call. The message says how to write it so that it passes."""
    text = "PREFIX ex: <urn:x:> SELECT * { ?s ex:service <http://127.0.0.1:9/> { ?a ?b ?c } }"
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect(text))
    assert "write that name as a full IRI" in str(refused.value)
    PEERS.check(inspect(text.replace("ex:service", "<urn:x:service>")))
    PEERS.check(inspect(text.replace("<http://127.0.0.1:9/> {", "<http://127.0.0.1:9/> . {")))
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect("SELECT ?myservice ?x { ?myservice ?p ?x }"))
    assert "put a '.' or WHERE before the '{'" in str(refused.value)
    PEERS.check(inspect("SELECT ?myservice ?x WHERE { ?myservice ?p ?x }"))


def test_a_call_written_inside_a_string_is_refused_although_harmless():
    """Another false positive, documented: the check does not know where strings are (that is what
    let the bypass through), so a string that reads like a call is refused."""
    with pytest.raises(QueryRefused):
        PEERS.check(inspect('SELECT * { ?s ?p "SERVICE <http://127.0.0.1/> { }" }'))


# --- the engine's rules, checked against the engine -------------------------------------------------

def engine_resolve(base: str | None, reference: str) -> str | None:
    query = "SELECT ?x WHERE { BIND(<" + reference + "> AS ?x) }"
    try:
        answer = ox.Store().query(query, base_iri=base) if base else ox.Store().query(query)
        return next(iter(answer))["x"].value
    except (SyntaxError, ValueError, StopIteration):
        return None


BASES = [None, "http://a/b/c/d;p?q", "foo:bar/baz", "urn:x", "http://127.0.0.1:9/a/", "file:///x/y", "http://h"]
REFERENCES = ["g", "//127.0.0.1:9/c", "http:g", "?y", "#s", "", ".", "..", "../../../g", "/./g", "g/../..", "x:y",
              "a b", "é", "http://h/a/../b", "HTTP://H/", "http://[::1]/", "http://a@b/", "./127.0.0.1:9/",
              "127.0.0.1:9/x", "%7e", "http://h:/x", "//h", "\\u0067", "\\u+067", "\\U+0000067", "\\u00", "\\x",
              "\\uD800", "a\\u0020b", "\\u003E", "http://h/\\U0001F600"]


@pytest.mark.parametrize("base", BASES)
def test_targets_are_resolved_exactly_as_the_engine_resolves_them(base):
    """Unescaping (even ``\\u+067``) and resolution (oxiri, not urljoin) agree with the engine's own."""
    for reference in REFERENCES:
        value = federate._unescape_iriref(reference)
        ours = None if value is None else federate._resolve(base, value)
        assert ours == engine_resolve(base, reference), (base, reference)


def test_resolving_an_iri_with_a_scheme_does_not_depend_on_the_base():
    """The check resolves an IRI with a scheme against one stand-in base (RFC 3986 5.2.2)."""
    for reference in ["http://h/a/../b", "HTTP://H/./x", "http:g", "urn:x:y", "http://127.0.0.1:9/s?q#f"]:
        results = {federate._resolve(b, reference) for b in BASES[1:] + [federate._ANY_BASE]}
        assert len(results) == 1, (reference, results)


def test_the_prologue_is_read_as_the_engine_reads_it(canary):
    """The base and prefixes a body is read with, from a chain of declarations, agree with where
    the engine sends its calls; where the chain is uncertain, every declaration counts."""
    u = canary.url
    for text, target in [
        (f"BASE <http://x.invalid/> PREFIX p: <a/> BASE <{u}/> PREFIX q: <b/> SELECT * {{ SERVICE q:c {{}} }}",
         f"{u}/b/c"),
        (f"BASE<{u}/>PREFIX:<d/>BASE<e/>SELECT*{{SERVICE:f{{}}}}", f"{u}/d/f"),
        (f"PREFIX p: <{u}/> PREFIX p: <{u}/second/> SELECT * {{ SERVICE p:x {{}} }}", f"{u}/second/x"),
    ]:
        before = len(canary.hits)
        assert engine_calls(text, canary)
        assert canary.hits[before].endswith(target[len(u):])
        assert inspect(text).services == [target], text
    # an IRI the check would not resolve makes the chain uncertain: then every declaration counts
    assert Scan("BASE <a b> SELECT * {}").prologue() is None
    assert Scan('VERSION "1.2" SELECT * {}').prologue() is None


# --- cost ----------------------------------------------------------------------------------------------

def test_the_check_does_a_constant_amount_of_work_per_character():
    """Linearity, measured in steps (characters examined by the check's own code, index entries),
    not seconds: the tokenizer this replaces took 124 s of CPU on 80 KB of repeated 'é'. With the
    caps lifted, every hostile shape costs the same steps per character at 16 KB and at 128 KB."""
    with uncapped():
        for name, small in shapes(16 * 1024).items():
            big = shapes(128 * 1024)[name]
            per_char = []
            for text in (small, big):
                scan = Scan(text)
                scan.calls(("service", "load"))
                scan.form()
                per_char.append(scan.steps / len(text))
            assert per_char[1] <= 1.1 * per_char[0] + 0.01 and per_char[1] <= 4, (name, per_char)


def test_eighty_kilobytes_of_non_ascii_letters_cost_a_few_steps_per_character():
    text = "SELECT * WHERE { ?s ?p " + "é" * 80_000 + " . ?s ?p service" + "é" * 80_000 + " }"
    scan = Scan(text)
    assert scan.calls(("service",)) == []
    assert scan.steps <= 2 * len(text)
    PEERS.check(inspect(text))


def test_past_a_cap_the_check_refuses_and_names_the_cap():
    with pytest.raises(QueryRefused) as refused:
        inspect("SELECT * { ?s ?p ?o } #" + "service " * (federate.MAX_OCCURRENCES + 1))
    assert f"more than {federate.MAX_OCCURRENCES} times" in str(refused.value)
    assert refused.value.status == 403
    with pytest.raises(QueryRefused) as refused:
        PEERS.check(inspect("SELECT * { SERVICE <http://peer.example:8080/sparql/" + "a" * 5000 + "> { } }"))
    assert f"longer than {federate.MAX_TARGET_CHARS} characters" in str(refused.value)


@pytest.mark.slow
def test_the_cost_of_the_check_by_size_and_hostile_shape():
    """The figure behind the linearity claim (also ``python -m bench.service_check``): CPU time as
    deployed and with the caps lifted, and steps per character, at 64 KB, 256 KB and 1 MB."""
    from bench.service_check import linearity, render
    from tests.checks import record

    table = linearity()
    print("\n" + render(table))
    record("service_check_cost", **{f"{name} @ {size // 1024} KB": row for name, sizes in table.items()
                                    for size, row in sizes.items()})
    for name, sizes in table.items():
        per_char = [row["steps_per_char"] for row in sizes.values()]
        assert max(per_char) <= 1.1 * min(per_char) + 0.01 and max(per_char) <= 4, (name, per_char)
