// The manifest tables of Service, NetworkPolicy and Ingress specs.
import { LABEL_SELECTOR } from "./common";
import {
  type Block,
  field,
  flag,
  integer,
  intOrString,
  object,
  objects,
  text,
  textMap,
  texts,
} from "./fields";

const PORT_REF: Block = { name: field("name", text), number: field("number", integer) };

const BACKEND: Block = {
  service: field("service", object({ name: field("name", text), port: field("port", object(PORT_REF)) })),
  resource: field(
    "resource",
    object({ api_group: field("apiGroup", text), kind: field("kind", text), name: field("name", text) }),
  ),
};

const NETWORK_POLICY_PEER: Block = {
  ip_block: field("ipBlock", object({ cidr: field("cidr", text), except: field("except", texts) })),
  namespace_selector: field("namespaceSelector", object(LABEL_SELECTOR)),
  pod_selector: field("podSelector", object(LABEL_SELECTOR)),
};

const NETWORK_POLICY_PORT: Block = {
  // Text in the provider, IntOrString in the API: "8080" is port 8080, "http" a named port.
  port: field("port", intOrString),
  end_port: field("endPort", integer),
  protocol: field("protocol", text),
};

export const SERVICE_SPEC: Block = {
  type: field("type", text),
  selector: field("selector", textMap),
  port: field(
    "ports",
    objects({
      name: field("name", text),
      protocol: field("protocol", text),
      app_protocol: field("appProtocol", text),
      port: field("port", integer),
      target_port: field("targetPort", intOrString),
      node_port: field("nodePort", integer),
    }),
  ),
  cluster_ip: field("clusterIP", text),
  load_balancer_class: field("loadBalancerClass", text),
  load_balancer_source_ranges: field("loadBalancerSourceRanges", texts),
  external_traffic_policy: field("externalTrafficPolicy", text),
  internal_traffic_policy: field("internalTrafficPolicy", text),
  session_affinity: field("sessionAffinity", text),
  publish_not_ready_addresses: field("publishNotReadyAddresses", flag),
  ip_families: field("ipFamilies", texts),
  ip_family_policy: field("ipFamilyPolicy", text),
};

export const NETWORK_POLICY_SPEC: Block = {
  pod_selector: field("podSelector", object(LABEL_SELECTOR)),
  policy_types: field("policyTypes", texts),
  ingress: field(
    "ingress",
    objects({
      from: field("from", objects(NETWORK_POLICY_PEER)),
      ports: field("ports", objects(NETWORK_POLICY_PORT)),
    }),
  ),
  egress: field(
    "egress",
    objects({
      to: field("to", objects(NETWORK_POLICY_PEER)),
      ports: field("ports", objects(NETWORK_POLICY_PORT)),
    }),
  ),
};

export const INGRESS_SPEC: Block = {
  ingress_class_name: field("ingressClassName", text),
  default_backend: field("defaultBackend", object(BACKEND)),
  rule: field(
    "rules",
    objects({
      host: field("host", text),
      http: field(
        "http",
        object({
          path: field(
            "paths",
            objects({
              path: field("path", text),
              path_type: field("pathType", text),
              backend: field("backend", object(BACKEND)),
            }),
          ),
        }),
      ),
    }),
  ),
  tls: field("tls", objects({ hosts: field("hosts", texts), secret_name: field("secretName", text) })),
};
