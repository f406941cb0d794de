import { AssignerProtocol, type Cluster, type PartitionAssigner } from 'kafkajs';

/**
 * Co-partitioned assignment: partition i of every subscribed topic goes to the same member. The learner stage reads
 * interactions, quiz attempts, profiles and erasures, all keyed by userId with the same partition count, so one member
 * owns all of a learner's events and checkpoints them as one "partition group" i (the same idea as Kafka Streams'
 * tasks). Groups are dealt round-robin over the sorted member ids, so every member computes the same answer.
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }: { cluster: Cluster }) => ({
  name: 'LearnstreamCoPartitioned',
  version: 1,
  assign({ members, topics }) {
    const sorted = members.map((m) => m.memberId).sort();
    const partitionsOf = new Map<string, number[]>();
    let maxGroups = 0;
    for (const topic of topics) {
      const ids = cluster
        .findTopicPartitionMetadata(topic)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b);
      partitionsOf.set(topic, ids);
      maxGroups = Math.max(maxGroups, ids.length);
    }
    const assignment = new Map<string, Record<string, number[]>>(sorted.map((m) => [m, {}]));
    for (let g = 0; g < maxGroups; g++) {
      const member = sorted[g % sorted.length];
      const a = assignment.get(member)!;
      for (const topic of topics) {
        if (!partitionsOf.get(topic)!.includes(g)) continue;
        (a[topic] ??= []).push(g);
      }
    }
    return Promise.resolve(
      [...assignment].map(([memberId, a]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: a, userData: Buffer.alloc(0) }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'LearnstreamCoPartitioned',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    };
  },
});
